// retell-contract.test.mjs: the official retell-sdk calls our fake provider for every Retell
// endpoint callbridge uses; each answer must be accepted by the SDK and conform, exactly, to the
// type the SDK declares for it (sdk-types.mjs reads retell-sdk's .d.ts files).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Retell from 'retell-sdk';

import { startFake } from './fake-provider.mjs';
import { sdkTypes } from './sdk-types.mjs';

const KEY = 'key_contract_retell';
const T = {
  agentList: 'retell-sdk/resources/agent#AgentListResponse',
  agent: 'retell-sdk/resources/agent#AgentResponse',
  callList: 'retell-sdk/resources/call#CallListResponse',
  call: 'retell-sdk/resources/call#CallResponse',
};
const types = sdkTypes(Object.values(T));
let fake;
let client;

before(async () => {
  fake = await startFake(['--retell-key', KEY, '--agents', 'agent_v1,agent_v2', '--chat-agents', 'agent_c1',
    '--calls', '7', '--web-calls', '2']);
  client = new Retell({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 });
});
after(() => fake?.stop());

function conforms(type, value) {
  assert.deepEqual(types.check(type, value), [], `answer does not conform to ${type}`);
}

test('POST /v2/list-agents answers the short items the SDK types, voice and chat', async () => {
  const page = await client.agent.list();
  conforms(T.agentList, page);
  assert.deepEqual(page.items.map((a) => a.channel).sort(), ['chat', 'voice', 'voice']);
});

test('POST /v2/list-agents filter_criteria.channel selects voice agents only', async () => {
  const page = await client.agent.list({ filter_criteria: { channel: { type: 'string', op: 'eq', value: 'voice' } } });
  conforms(T.agentList, page);
  assert.deepEqual(page.items.map((a) => a.agent_id).sort(), ['agent_v1', 'agent_v2']);
});

test('POST /v2/list-agents pages with limit and pagination_key', async () => {
  const seen = [];
  let page = await client.agent.list({ limit: 2, sort_order: 'ascending' });
  for (;;) {
    conforms(T.agentList, page);
    seen.push(...page.items.map((a) => a.agent_id));
    if (!page.has_more) break;
    page = await client.agent.list({ limit: 2, sort_order: 'ascending', pagination_key: page.pagination_key });
  }
  assert.deepEqual(seen.sort(), ['agent_c1', 'agent_v1', 'agent_v2']);
});

test('POST /v2/list-agents refuses a filter the SDK does not allow', async () => {
  await assert.rejects(client.agent.list({ filter_criteria: { channel: { type: 'string', op: 'eq', value: 'sms' } } }),
    (err) => err.status === 400);
});

test('GET /get-agent/{agent_id} answers the whole agent as AgentResponse', async () => {
  const agent = await client.agent.retrieve('agent_v1');
  conforms(T.agent, agent);
  assert.equal(agent.agent_id, 'agent_v1');
  for (const field of ['voice_id', 'language', 'is_published', 'version']) {
    assert.notEqual(agent[field], undefined, `${field} is what fetch-retell-agents shows`);
  }
  await assert.rejects(client.agent.retrieve('agent_c1'), (err) => err.status === 404);
});

test('POST /v3/list-calls answers CallListResponse pages, ascending from a start', async () => {
  const filter_criteria = { start_timestamp: { type: 'number', op: 'ge', value: 0 } };
  const seen = [];
  let page = await client.call.list({ filter_criteria, sort_order: 'ascending', limit: 3 });
  for (;;) {
    conforms(T.callList, page);
    seen.push(...page.items);
    if (!page.has_more) break;
    page = await client.call.list({ filter_criteria, sort_order: 'ascending', limit: 3, pagination_key: page.pagination_key });
  }
  assert.equal(seen.length, 9);
  const starts = seen.map((c) => c.start_timestamp);
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  assert.ok(seen.every((c) => c.transcript === undefined && c.recording_url === undefined));
  const agentOnly = await client.call.list({ filter_criteria: { agent: [{ agent_id: 'agent_v2' }] } });
  conforms(T.callList, agentOnly);
  assert.ok(agentOnly.items.length > 0 && agentOnly.items.every((c) => c.agent_id === 'agent_v2'));
});

test('GET /v2/get-call/{call_id} answers phone and web calls as CallResponse', async () => {
  const { items } = await client.call.list({ limit: 1000 });
  const kinds = new Set();
  for (const item of items) {
    const call = await client.call.retrieve(item.call_id);
    conforms(T.call, call);
    kinds.add(call.call_type);
    assert.equal(typeof call.transcript, 'string');
  }
  assert.deepEqual([...kinds].sort(), ['phone_call', 'web_call']);
});

test('a wrong key is refused as the SDK expects (401)', async () => {
  const stranger = new Retell({ apiKey: 'key_unknown', baseURL: fake.url, maxRetries: 0 });
  await assert.rejects(stranger.agent.list(), (err) => err.status === 401);
});
