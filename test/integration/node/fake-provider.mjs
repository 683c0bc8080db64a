// fake-provider.mjs: runs test/integration/testenv/fake_provider.py as a program for the node
// contract tests and stops it; `args` are its command-line options (python3 -m
// testenv.fake_provider --help).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const integration = join(dirname(fileURLToPath(import.meta.url)), '..');

// HighLevel's documents distilled: the Version each endpoint documents.
export const hlContract = JSON.parse(readFileSync(join(integration, 'contracts', 'highlevel.json'), 'utf8'));
export function hlVersion(method, path) {
  const endpoint = hlContract.endpoints.find((e) => e.method === method && e.path === path);
  return endpoint.headers.Version.enum[0];
}

export async function startFake(args) {
  const child = spawn('/usr/bin/python3', ['-m', 'testenv.fake_provider', ...args],
    { cwd: integration, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /READY (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`fake provider exited (${code}) before READY`)));
  });
  return {
    url,
    stop: () => new Promise((resolve) => {
      child.on('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}
