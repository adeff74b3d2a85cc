import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// In CI a JSON report is written beside the normal output so that .ci/run can print
// "N passed, M failed" and a run that executed no test is visible.
const reporters: Array<string | [string, Record<string, unknown>]> = ['default'];
if (process.env.CI) reporters.push(['json', { outputFile: '.ci/results.json' }]);

export default defineConfig({
  resolve: {
    // exact matches: 'sluice' must not swallow 'sluice/redis'
    alias: [
      { find: /^sluice$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      {
        find: /^sluice\/redis$/,
        replacement: fileURLToPath(new URL('./src/redis/index.ts', import.meta.url)),
      },
      {
        find: /^sluice\/amqp$/,
        replacement: fileURLToPath(new URL('./src/amqp/index.ts', import.meta.url)),
      },
      {
        find: /^sluice\/otel$/,
        replacement: fileURLToPath(new URL('./src/otel/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['spec/**/*.spec.ts'],
    reporters,
    testTimeout: 20_000,
  },
});
