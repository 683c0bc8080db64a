// check-requests.mjs: checks recorded provider requests against the official SDK's parameter
// types (sdk-types.mjs), for test_contract_*.py. stdin: a JSON list of
//   {"type": "retell-sdk/resources/agent#AgentListParams", "query": {...}, "body": {...} | null}
// (query values as strings); stdout: a JSON list, for each request, of the error messages
// (empty when it conforms). A parameter the SDK does not define, a value outside its type, or a
// parameter sent in the query that the SDK sends in the body (or the reverse) is an error.
import { sdkTypes } from './sdk-types.mjs';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const types = sdkTypes([...new Set(requests.map((r) => r.type))]);
const answers = requests.map(({ type, query = {}, body = null }) => {
  const places = types.places(type);
  const hasBodyParams = Object.values(places).includes('body');
  const errors = [];
  for (const key of Object.keys(query)) {
    if (places[key] === 'body' || (places[key] === null && hasBodyParams)) {
      errors.push(`${key}: sent in the query, the SDK sends it in the body`);
    }
  }
  for (const key of Object.keys(body ?? {})) {
    if (places[key] === 'query') errors.push(`${key}: sent in the body, the SDK sends it in the query`);
  }
  const missing = (e) => e.endsWith('(the SDK type requires it)');
  errors.push(...types.check(type, query, { fromQuery: true }).filter((e) => !missing(e)));
  errors.push(...types.check(type, body ?? {}).filter((e) => !missing(e)));
  // a parameter the SDK requires must be in one place or the other
  errors.push(...types.check(type, { ...query, ...(body ?? {}) }, { fromQuery: true }).filter(missing));
  return [...new Set(errors)];
});
process.stdout.write(JSON.stringify(answers));
