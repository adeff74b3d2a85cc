import { defineConfig } from 'tsup';

// Two public entries, each emitted as ESM and CJS with declarations for both:
// - `sluice` (src/index.ts), which never loads a Redis client;
// - `sluice/redis` (src/redis/index.ts), the Redis Streams queue. It imports the core through
//   the package's own name ('sluice', kept external), so both entries share one copy of the
//   core classes (`ChannelClosedError` from either is the same class), and it loads no Redis
//   client either: the caller hands it an ioredis connection.
// - `sluice/amqp` (src/amqp/index.ts), RabbitMQ publishers and consumers, built the same way:
//   it imports the core as 'sluice' and is handed an amqplib connection (types only).
export default defineConfig({
  entry: { index: 'src/index.ts', redis: 'src/redis/index.ts', amqp: 'src/amqp/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['rxjs', 'sluice', 'ioredis', 'amqplib'],
});
