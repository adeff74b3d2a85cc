/**
 * sluice in a real browser: spec/browser/page.ts is bundled for the browser by esbuild (a
 * Node built-in anywhere in what it imports fails the bundle) and run in headless Chromium
 * (Debian's `chromium`, driven by playwright-core). The page uses channels, `workerPool`,
 * `atLeastOnce` and `for await` over a receiver with the browser's own timers; this spec checks
 * what it saw. Without Chromium the suite is skipped with the reason, unless
 * SLUICE_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failing test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageGlobals } from './page.js';

const executablePath = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(executablePath);
const required = process.env.SLUICE_REQUIRE_BROWSER === '1';
const install = 'apt-get install -y chromium';

/** The page bundled as one ES module, from src/ (through tsconfig's "paths", as the specs do). */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

function browserSuite(): void {
  let context: BrowserContext | undefined;
  let profile: string | undefined;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
    // A fresh profile each run; no network, sync or updates, and no GPU in a container.
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
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
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it('runs channels, workerPool, atLeastOnce and for await in Chromium', async () => {
    const code = await bundlePage();
    const page = await context!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.setContent(
      `<!doctype html><title>sluice</title><script type="module">${code.replaceAll('</script', '<\\/script')}</script>`,
    );
    await page.waitForFunction(
      () => {
        const globals = globalThis as PageGlobals;
        return globals.sluiceResults !== undefined || globals.sluiceError !== undefined;
      },
      undefined,
      { timeout: 30_000 },
    );
    const { sluiceError: error, sluiceResults: results } = await page.evaluate(() => {
      const { sluiceError, sluiceResults } = globalThis as PageGlobals;
      return { sluiceError, sluiceResults };
    });
    await page.close();

    expect(error).toBeUndefined();
    expect(pageErrors).toEqual([]);
    if (results === undefined) throw new Error('the page published no results');
    expect(results.userAgent).toMatch(/Chrom/);

    expect(results.pooled).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) * 2));
    // capacity 4 + the one send that waits for room
    expect(results.peakQueued).toBeLessThanOrEqual(5);

    expect(results.delivered).toEqual(['a', 'b', 'flaky']);
    expect(results.attempts).toEqual({ a: 1, flaky: 3, poison: 3, b: 1 });
    expect(results.deadLetters).toEqual(['poison']);

    expect(results.iterated).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    expect(results.oneshot).toBe('answer');
    expect(results.broadcast).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(results.watched).toEqual(['idle', 'busy', 'done']);
  }, 60_000);
}

if (available) {
  describe('sluice in headless Chromium', browserSuite);
} else if (required) {
  describe('sluice in headless Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(
        `Chromium is not installed at ${executablePath}, and SLUICE_REQUIRE_BROWSER=1 says this test must run (${install})`,
      );
    });
  });
} else {
  console.warn(`spec/browser skipped: no Chromium at ${executablePath} (${install})`);
  describe.skip(
    `sluice in headless Chromium (skipped: no Chromium at ${executablePath}; ${install})`,
    browserSuite,
  );
}
