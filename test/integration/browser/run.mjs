// run.mjs: drives Debian's chromium (headless, fresh profile) through a plan read from stdin as
// JSON, {page, steps: [{calls: [[label, who, name, options], ...]} | {exec: [argv]} |
// {play: label-of-a-link-answer}], timeoutMs}, and prints {results, console, timings} as JSON.
// Used by test/integration/test_browser.py.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const plan = JSON.parse(readFileSync(0, 'utf8'));
const started = Date.now();
const timings = {};
const profile = mkdtempSync(join(tmpdir(), 'callbridge-chromium-'));
const results = [];
const consoleLines = [];
const context = await chromium.launchPersistentContext(profile, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	timeout: plan.timeoutMs,
	args: [
		'--headless',
		'--no-sandbox',
		'--disable-gpu',
		'--disable-quic',
		'--no-first-run',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync',
	],
});
timings.launch = Date.now() - started;
try {
	const page = await context.newPage();
	page.setDefaultTimeout(plan.timeoutMs);
	page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e}`));
	await page.goto(plan.page);
	await page.waitForFunction(() => window.ready === true);
	for (const step of plan.steps) {
		if (step.exec) {
			execFileSync(step.exec[0], step.exec.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
		} else if (step.calls) {
			results.push(...(await page.evaluate((calls) => window.runCalls(calls), step.calls)));
		} else if (step.play) {
			const link = results.find((r) => r.label === step.play);
			const played = await page.evaluate(([url, ms]) => window.play(url, ms), [link.body.url, 10000]);
			results.push({ label: `play ${step.play}`, ...played });
		}
	}
} finally {
	await context.close();
	rmSync(profile, { recursive: true, force: true });
}
timings.total = Date.now() - started;
process.stdout.write(JSON.stringify({ results, console: consoleLines, timings }));
