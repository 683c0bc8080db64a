// highlevel-contract.test.mjs: the official @gohighlevel/api-client calls our fake provider for
// every HighLevel endpoint callbridge uses, with the Version each endpoint documents
// (contracts/highlevel.json); each answer must be accepted and conform, exactly, to the SDK's
// model types (sdk-types.mjs reads the package's .d.ts files). The SDK sends one Version for
// everything, so each call passes the documented one; the fake must refuse a wrong one, an
// unknown sort, and speak the X-RateLimit-* headers the SDK reads.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HighLevel } from '@gohighlevel/api-client';

import { hlContract, hlVersion, startFake } from './fake-provider.mjs';
import { sdkTypes } from './sdk-types.mjs';

const LOC = 'loc_contract_1';
const TOKEN = 'hlat_contract_token';
const CODE = 'hlcode_contract';
const CLIENT = { clientId: 'fake-hl-client-id', clientSecret: 'fake-hl-client-secret' };
const MODELS = '@gohighlevel/api-client/dist/lib/code';
const T = {
  token: `${MODELS}/oauth/models/oauth#GetAccessCodeSuccessfulResponseDto`,
  agents: `${MODELS}/voice-ai/models/voice-ai#GetAgentsResponseDTO`,
  agent: `${MODELS}/voice-ai/models/voice-ai#GetAgentResponseDTO`,
  logs: `${MODELS}/voice-ai/models/voice-ai#CallLogsResponseDTO`,
  log: `${MODELS}/voice-ai/models/voice-ai#CallLogDTO`,
};
const types = sdkTypes(Object.values(T));
const V = {
  agents: hlVersion('GET', '/voice-ai/agents'),
  agent: hlVersion('GET', '/voice-ai/agents/{agentId}'),
  logs: hlVersion('GET', '/voice-ai/dashboard/call-logs'),
  log: hlVersion('GET', '/voice-ai/dashboard/call-logs/{callId}'),
  recording: hlVersion('GET', '/conversations/messages/{messageId}/locations/{locationId}/recording'),
};
const version = (v) => ({ headers: { Version: v } });
const fakes = [];

async function client(args = []) {
  const fake = await startFake(['--highlevel-location', LOC, '--highlevel-token', TOKEN, '--highlevel-code', CODE,
    '--highlevel-agents', 'hl_agent_a,hl_agent_b', '--highlevel-calls', '4', ...args]);
  fakes.push(fake);
  HighLevel.BASE_URL = fake.url; // read by the constructor: the API and OAuth base
  return new HighLevel({ ...CLIENT, locationAccessToken: TOKEN, logLevel: 'none', rateLimitRetry: { maxRetries: 2 } });
}

let hl;
before(async () => { hl = await client(); });
after(() => Promise.all(fakes.map((f) => f.stop())));

function conforms(type, value) {
  assert.deepEqual(types.check(type, value), [], `answer does not conform to ${type}`);
}

test('the documents give /voice-ai/* and the recording endpoint Version 2021-04-15', () => {
  assert.deepEqual(new Set(Object.values(V)), new Set(['2021-04-15']));
  assert.match(hlContract.source.commit, /^[0-9a-f]{40}$/);
});

test('POST /oauth/token: code exchange and refresh answer GetAccessCodeSuccessfulResponseDto', async () => {
  const first = await hl.oauth.getAccessToken({ ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret },
    grant_type: 'authorization_code', code: CODE, user_type: 'Location' });
  conforms(T.token, first);
  assert.equal(first.locationId, LOC);
  const next = await hl.oauth.getAccessToken({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret,
    grant_type: 'refresh_token', refresh_token: first.refresh_token, user_type: 'Location' });
  conforms(T.token, next);
  assert.notEqual(next.refresh_token, first.refresh_token);
  await assert.rejects(hl.oauth.getAccessToken({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret,
    grant_type: 'refresh_token', refresh_token: first.refresh_token, user_type: 'Location' }),
  (err) => err.statusCode === 400, 'a refresh token is single-use');
});

test('GET /voice-ai/agents and /voice-ai/agents/{agentId} answer the SDK models', async () => {
  const list = await hl.voiceAi.getAgents({ locationId: LOC, page: 1, pageSize: 50 }, version(V.agents));
  conforms(T.agents, list);
  assert.deepEqual(list.agents.map((a) => a.id).sort(), ['hl_agent_a', 'hl_agent_b']);
  const one = await hl.voiceAi.getAgent({ agentId: 'hl_agent_a', locationId: LOC }, version(V.agent));
  conforms(T.agent, one);
});

test('GET /voice-ai/dashboard/call-logs sorts with sortBy + sort=ascend|descend, newest first without', async () => {
  const query = { locationId: LOC, startDate: 0, endDate: Date.now(), page: 1, pageSize: 50 };
  const times = (page) => page.callLogs.map((c) => Date.parse(c.createdAt));
  const up = await hl.voiceAi.getCallLogs({ ...query, sortBy: 'createdAt', sort: 'ascend' }, version(V.logs));
  conforms(T.logs, up);
  assert.equal(up.callLogs.length, 8);
  assert.deepEqual(times(up), [...times(up)].sort((a, b) => a - b));
  const down = await hl.voiceAi.getCallLogs({ ...query, sortBy: 'createdAt', sort: 'descend' }, version(V.logs));
  assert.deepEqual(times(down), [...times(up)].reverse());
  const plain = await hl.voiceAi.getCallLogs({ ...query, sort: 'ascend' }, version(V.logs));
  assert.deepEqual(times(plain), times(down), 'sort applies only with sortBy');
  const paged = await hl.voiceAi.getCallLogs({ ...query, sortBy: 'createdAt', sort: 'ascend', page: 2, pageSize: 3 },
    version(V.logs));
  conforms(T.logs, paged);
  assert.deepEqual(paged.callLogs.map((c) => c.id), up.callLogs.slice(3, 6).map((c) => c.id));
  assert.ok(up.callLogs.every((c) => !('direction' in c)), 'a call log has no direction');
});

test('GET /voice-ai/dashboard/call-logs/{callId} answers CallLogDTO', async () => {
  const { callLogs } = await hl.voiceAi.getCallLogs({ locationId: LOC, pageSize: 1 }, version(V.logs));
  const one = await hl.voiceAi.getCallLog({ callId: callLogs[0].id, locationId: LOC }, version(V.log));
  conforms(T.log, one);
  assert.equal(one.id, callLogs[0].id);
});

test('GET /conversations/messages/{messageId}/locations/{locationId}/recording answers the audio', async () => {
  const { callLogs } = await hl.voiceAi.getCallLogs({ locationId: LOC, pageSize: 1 }, version(V.logs));
  const audio = await hl.conversations.getMessageRecording({ locationId: LOC, messageId: callLogs[0].messageId },
    { ...version(V.recording), responseType: 'arraybuffer' });
  assert.equal(Buffer.from(audio).subarray(0, 4).toString(), 'RIFF');
});

test('the fake refuses what HighLevel refuses: a wrong or missing Version, sort=asc', async () => {
  const status = (promise) => promise.then(() => 200, (err) => err.statusCode);
  assert.equal(await status(hl.voiceAi.getAgents({ locationId: LOC }, version('2021-07-28'))), 400);
  assert.equal(await status(hl.voiceAi.getAgents({ locationId: LOC })), 400, 'the SDK default Version');
  assert.equal(await status(hl.voiceAi.getCallLogs({ locationId: LOC, sortBy: 'createdAt', sort: 'asc' },
    version(V.logs))), 400);
  assert.equal(await status(hl.voiceAi.getCallLogs({ locationId: LOC, sortBy: 'startedAt' }, version(V.logs))), 400);
});

test('X-RateLimit-* headers: the SDK waits out a burst and does not retry a spent daily quota', async () => {
  const burst = await client(['--highlevel-burst-max', '2', '--highlevel-interval-ms', '300']);
  const lists = await Promise.all([1, 2, 3].map(() => burst.voiceAi.getAgents({ locationId: LOC }, version(V.agents))));
  assert.ok(lists.every((l) => l.agents.length === 2), 'the third waited the interval and succeeded');
  const daily = await client(['--highlevel-daily-limit', '1']);
  await daily.voiceAi.getAgents({ locationId: LOC }, version(V.agents));
  await assert.rejects(daily.voiceAi.getAgents({ locationId: LOC }, version(V.agents)),
    (err) => err.statusCode === 429 && err.rateLimit?.scope === 'daily' && err.rateLimit.dailyRemaining === 0);
});
