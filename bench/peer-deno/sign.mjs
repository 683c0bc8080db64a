// sign.mjs: signs deliveries with the official retell-sdk, as Retell signs its webhooks.
// usage: node sign.mjs API_KEY < bodies (one JSON body a line) > "signature<TAB>body" lines
import { createInterface } from 'node:readline';
import { sign, verify } from 'retell-sdk';

const [key] = process.argv.slice(2);
const out = [];
for await (const body of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const header = await sign(body, key);
  if (!(await verify(body, key, header))) throw new Error('retell-sdk does not verify its own signature');
  out.push(header + '\t' + body + '\n');
}
process.stdout.write(out.join(''));
