import { rmSync, writeFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// The public entries: `dist/<name>.js` (ESM), `dist/<name>.cjs` (CJS) and their declarations
// for each. Another entry point is one more line here and its `exports` block in package.json.
// - `sluice` (src/index.ts), which never loads a broker client;
// - `sluice/redis` (src/redis/index.ts), the Redis Streams queue. It imports the core through
//   the package's own name ('sluice', kept external), so every entry shares one copy of the
//   core classes (`ChannelClosedError` from either is the same class), and it loads no Redis
//   client either: the caller hands it an ioredis connection.
// - `sluice/amqp` (src/amqp/index.ts), RabbitMQ publishers and consumers, built the same way:
//   it imports the core as 'sluice' and is handed an amqplib connection (types only).
// - `sluice/otel` (src/otel/index.ts), OpenTelemetry spans and trace context, built the same
//   way over `@opentelemetry/api` (an optional peer, kept external).
const entries: Record<string, string> = {
  index: 'src/index.ts',
  redis: 'src/redis/index.ts',
  amqp: 'src/amqp/index.ts',
  otel: 'src/otel/index.ts',
};

const shared: Options = {
  target: 'es2022',
  sourcemap: true,
  external: ['rxjs', 'sluice', 'ioredis', 'amqplib', '@opentelemetry/api'],
};

export default defineConfig((options) => {
  // The builds below run side by side: clean once here rather than in each.
  if (!options.watch) rmSync('dist', { recursive: true, force: true });
  return [
    // ESM, one module per source file (dist/esm/…), so a bundler keeps only the modules an
    // import reaches: `import { mpsc } from 'sluice'` leaves the queue, the operators and the
    // heap behind. Each entry's `dist/<name>.js` re-exports its module in that tree.
    {
      ...shared,
      entry: ['src/**/*.ts'],
      outDir: 'dist/esm',
      format: ['esm'],
      bundle: false,
      async onSuccess() {
        for (const [name, source] of Object.entries(entries)) {
          const module = source.replace(/^src\//, './esm/').replace(/\.ts$/, '.js');
          writeFileSync(`dist/${name}.js`, `export * from '${module}';\n`);
        }
      },
    },
    // CJS, one file per entry (`sluice` itself stays external, so still one core).
    { ...shared, entry: entries, format: ['cjs'] },
    // The declarations, one file per entry and module kind (.d.ts and .d.cts).
    // `stripInternal`: members tagged `@internal` (the demand protocol's `[pull]`) stay out of
    // the published types; `scripts/check-internals.mjs` proves no internal name got in.
    {
      ...shared,
      entry: entries,
      format: ['esm', 'cjs'],
      dts: { only: true, compilerOptions: { stripInternal: true } },
    },
  ];
});
