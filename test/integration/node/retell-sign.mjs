// retell-sign.mjs: signs stdin with the official retell-sdk, as Retell signs its webhooks.
// usage: node retell-sign.mjs API_KEY [TIMESTAMP_MS]   -> prints the x-retell-signature value
// A timestamp makes a stale (or future) signature: the SDK's sign() reads Date.now().
import { sign, verify } from 'retell-sdk';

const [key, at] = process.argv.slice(2);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString('utf8');
if (at) {
  const fixed = Number(at);
  Date.now = () => fixed;
}
const header = await sign(body, key);
if (!at && !(await verify(body, key, header))) {
  throw new Error('retell-sdk does not verify its own signature');
}
process.stdout.write(header);
