// Proves the published package works: packs it, installs the tarball into a fresh temporary
// project beside rxjs, and uses it from ESM, from CJS, and from TypeScript (node16 resolution,
// both module kinds). Run after `npm run build`.
//
// sluice/redis too: without ioredis installed, both entries load from ESM and CJS and type-check
// (the core never loads a Redis client, and sluice/redis loads none itself: it is handed one),
// and both entries share one copy of the core (an error thrown by sluice/redis is an instance
// of the class exported by sluice). Then ioredis is installed beside them and an ioredis client
// must type-check as the queue's connection. sluice/amqp the same way: it loads without
// amqplib, shares the core, and type-checks against a real amqplib connection once installed.
// sluice/otel beside @opentelemetry/api: loads, instruments the core's pool, type-checks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const run = (cmd, args, cwd) => {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  } catch (err) {
    process.stderr.write(String(err.stdout ?? ''));
    throw err;
  }
};

const dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', dir], root)
    .trim()
    .split('\n')
    .pop();
  const rxjsVersion = JSON.parse(
    run('node', ['-p', 'JSON.stringify(require("rxjs/package.json").version)'], root),
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(dir, tarball),
      `rxjs@${rxjsVersion}`,
    ],
    dir,
  );

  const program = (load) => `${load}
const [tx, rx] = mpsc(2);
const seen = [];
rx.subscribe((n) => seen.push(n));
tx.trySend(1);
tx.trySend(2);
if (seen.join() !== '1,2') throw new Error('unexpected ' + seen.join());
console.log('ok');
`;
  writeFileSync(join(dir, 'esm.mjs'), program("import { mpsc } from 'sluice';"));
  writeFileSync(join(dir, 'cjs.cjs'), program("const { mpsc } = require('sluice');"));
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    if (run('node', [file], dir).trim() !== 'ok') throw new Error(`${file} failed`);
  }

  // sluice/redis, with no ioredis in the project: nothing may try to load it.
  const redisProgram = (load) => `${load}
let ioredis = true;
try { require.resolve('ioredis'); } catch { ioredis = false; }
if (ioredis) throw new Error('ioredis is installed: this check needs it absent');
if (redisQueueKeys('q').stream !== 'sluice:{q}:s') throw new Error('keys');
const connection = { call: async () => { throw new Error('no server'); }, duplicate() { return this; }, disconnect() {} };
const queue = new RedisQueue({ connection, name: 'q' });
await queue.close();
const refused = await queue.enqueue('late').then(() => undefined, (error) => error);
if (!(refused instanceof ChannelClosedError)) throw new Error('two copies of the core: ' + refused);
const loaded = Object.keys(require.cache ?? {}).concat(process.moduleLoadList ?? []);
if (loaded.some((path) => path.includes('ioredis'))) throw new Error('ioredis was loaded');
console.log('ok');
`;
  writeFileSync(
    join(dir, 'redis-esm.mjs'),
    redisProgram(`import { createRequire } from 'node:module';
import { ChannelClosedError } from 'sluice';
import { RedisQueue, redisQueueKeys } from 'sluice/redis';
const require = createRequire(import.meta.url);`),
  );
  writeFileSync(
    join(dir, 'redis-cjs.cjs'),
    `(async () => {
${redisProgram(`const { ChannelClosedError } = require('sluice');
const { RedisQueue, redisQueueKeys } = require('sluice/redis');`)}
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );
  for (const file of ['redis-esm.mjs', 'redis-cjs.cjs']) {
    if (run('node', [file], dir).trim() !== 'ok') throw new Error(`${file} failed`);
  }

  // sluice/amqp, with no amqplib in the project: nothing may try to load it.
  const amqpProgram = (load) => `${load}
let amqplib = true;
try { require.resolve('amqplib'); } catch { amqplib = false; }
if (amqplib) throw new Error('amqplib is installed: this check needs it absent');
const connection = { createChannel: async () => { throw new Error('no server'); }, createConfirmChannel: async () => { throw new Error('no server'); } };
const publisher = new AmqpPublisher({ connection, exchange: '', routingKey: 'q' });
await publisher.close();
const refused = await publisher.send('late').then(() => undefined, (error) => error);
if (!(refused instanceof ChannelClosedError)) throw new Error('two copies of the core: ' + refused);
if (typeof consumeAmqp !== 'function') throw new Error('consumeAmqp missing');
// the receiver is bundled apart from the core; the core's workerPool must still pull from it
if (typeof amqpReceiver({ connection, queue: 'q' })[Symbol.for('sluice.pull')] !== 'function') {
  throw new Error('amqpReceiver is not demand-aware to the core');
}
const loaded = Object.keys(require.cache ?? {}).concat(process.moduleLoadList ?? []);
if (loaded.some((path) => path.includes('amqplib'))) throw new Error('amqplib was loaded');
console.log('ok');
`;
  writeFileSync(
    join(dir, 'amqp-esm.mjs'),
    amqpProgram(`import { createRequire } from 'node:module';
import { ChannelClosedError } from 'sluice';
import { AmqpPublisher, amqpReceiver, consumeAmqp } from 'sluice/amqp';
const require = createRequire(import.meta.url);`),
  );
  writeFileSync(
    join(dir, 'amqp-cjs.cjs'),
    `(async () => {
${amqpProgram(`const { ChannelClosedError } = require('sluice');
const { AmqpPublisher, amqpReceiver, consumeAmqp } = require('sluice/amqp');`)}
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );
  for (const file of ['amqp-esm.mjs', 'amqp-cjs.cjs']) {
    if (run('node', [file], dir).trim() !== 'ok') throw new Error(`${file} failed`);
  }

  const typed = `import { mpsc, type Sender } from 'sluice';
const [tx, rx] = mpsc<number>(2);
const s: Sender<number> = tx;
rx.subscribe((n: number) => n.toFixed());
s.trySend(1);
`;
  writeFileSync(join(dir, 'typed.mts'), typed);
  writeFileSync(join(dir, 'typed.cts'), typed);
  const typedRedis = `import { MessageQueue, type QueueStore } from 'sluice';
import { RedisQueue, type RedisQueueConnection, jsonSerializer } from 'sluice/redis';
declare const connection: RedisQueueConnection;
const queue = new RedisQueue<{ n: number }>({ connection, name: 'q', serializer: jsonSerializer() });
const stores: QueueStore<{ n: number }>[] = [queue, new MessageQueue<{ n: number }>()];
void stores;
`;
  writeFileSync(join(dir, 'typed-redis.mts'), typedRedis);
  writeFileSync(join(dir, 'typed-redis.cts'), typedRedis);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const typecheck = (files) => {
    for (const file of files) {
      run(
        'node',
        [
          tsc,
          '--noEmit',
          '--strict',
          '--module',
          'node16',
          '--moduleResolution',
          'node16',
          '--lib',
          'es2022,dom',
          '--types',
          'node',
          '--skipLibCheck',
          'false',
          file,
        ],
        dir,
      );
    }
  };
  // @types/node for the ioredis declarations and the programs' require()
  const nodeTypes = JSON.parse(
    run('node', ['-p', 'JSON.stringify(require("@types/node/package.json").version)'], root),
  );
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `@types/node@${nodeTypes}`],
    dir,
  );
  typecheck(['typed-redis.mts', 'typed-redis.cts']);

  // With ioredis installed beside it, an ioredis client is a connection.
  const ioredisVersion = JSON.parse(
    run('node', ['-p', 'JSON.stringify(require("ioredis/package.json").version)'], root),
  );
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `ioredis@${ioredisVersion}`],
    dir,
  );
  const typedClient = `import { Redis } from 'ioredis';
import { RedisQueue } from 'sluice/redis';
const queue = new RedisQueue<string>({ connection: new Redis({ lazyConnect: true }), name: 'q' });
void queue;
`;
  writeFileSync(join(dir, 'typed-client.mts'), typedClient);
  writeFileSync(join(dir, 'typed-client.cts'), typedClient);
  typecheck(['typed-client.mts', 'typed-client.cts']);

  // With amqplib installed beside it, an amqplib connection is what sluice/amqp takes.
  // amqplib's exports map hides its package.json from require(): read the file
  const amqplibVersion = JSON.parse(
    readFileSync(join(root, 'node_modules', 'amqplib', 'package.json'), 'utf8'),
  ).version;
  run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', `amqplib@${amqplibVersion}`],
    dir,
  );
  const typedAmqp = `import amqplib from 'amqplib';
import { AmqpPublisher, amqpReceiver, type AmqpDelivery } from 'sluice/amqp';
export async function main(): Promise<void> {
  const connection = await amqplib.connect('amqp://127.0.0.1');
  const publisher = new AmqpPublisher<{ n: number }>({ connection, exchange: '', routingKey: 'q' });
  await publisher.send({ n: 1 });
  amqpReceiver<{ n: number }>({ connection, queue: 'q' }).subscribe((d: AmqpDelivery<{ n: number }>) => {
    d.payload.n.toFixed();
    d.ack();
  });
}
`;
  writeFileSync(join(dir, 'typed-amqp.mts'), typedAmqp);
  writeFileSync(join(dir, 'typed-amqp.cts'), typedAmqp);
  typecheck(['typed-amqp.mts', 'typed-amqp.cts']);

  // sluice/otel, with @opentelemetry/api installed beside it (its peer): it loads from ESM and
  // CJS, instruments the core's workerPool (one core), and type-checks.
  const otelApiVersion = JSON.parse(
    readFileSync(join(root, 'node_modules', '@opentelemetry', 'api', 'package.json'), 'utf8'),
  ).version;
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      `@opentelemetry/api@${otelApiVersion}`,
    ],
    dir,
  );
  const otelProgram = (load) => `${load}
const ended = [];
const span = (name) => ({ setAttributes() { return this; }, setStatus() { return this; }, end() { ended.push(name); } });
const tracer = { startSpan: (name) => span(name) };
const instrument = otelInstrumentation({ tracer, destination: 'q' });
await lastValueFrom(of(1, 2).pipe(workerPool(async (n) => n, { instrument })));
if (ended.join() !== 'process q,process q') throw new Error('spans: ' + ended.join());
const propagator = { inject: (context, carrier, setter) => setter.set(carrier, 'traceparent', 't'), extract: (c) => c, fields: () => ['traceparent'] };
const options = withTraceContext({ id: 'a' }, { propagator });
if (options.headers?.traceparent !== 't' || options.id !== 'a') throw new Error('headers: ' + JSON.stringify(options));
console.log('ok');
`;
  writeFileSync(
    join(dir, 'otel-esm.mjs'),
    otelProgram(`import { lastValueFrom, of } from 'rxjs';
import { workerPool } from 'sluice';
import { otelInstrumentation, withTraceContext } from 'sluice/otel';`),
  );
  writeFileSync(
    join(dir, 'otel-cjs.cjs'),
    `(async () => {
${otelProgram(`const { lastValueFrom, of } = require('rxjs');
const { workerPool } = require('sluice');
const { otelInstrumentation, withTraceContext } = require('sluice/otel');`)}
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );
  for (const file of ['otel-esm.mjs', 'otel-cjs.cjs']) {
    if (run('node', [file], dir).trim() !== 'ok') throw new Error(`${file} failed`);
  }
  const typedOtel = `import { trace } from '@opentelemetry/api';
import { type Delivery, MessageQueue } from 'sluice';
import { otelInstrumentation, withTraceContext } from 'sluice/otel';
const queue = new MessageQueue<string>();
queue.enqueue('a', withTraceContext({ id: 'a' }));
const instrument = otelInstrumentation<Delivery<string>>({ tracer: trace.getTracer('t') });
queue.consume(async (d) => d.headers?.traceparent, { instrument }).subscribe();
`;
  writeFileSync(join(dir, 'typed-otel.mts'), typedOtel);
  writeFileSync(join(dir, 'typed-otel.cts'), typedOtel);
  typecheck(['typed-otel.mts', 'typed-otel.cts']);

  for (const file of ['typed.mts', 'typed.cts']) {
    run(
      'node',
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--lib',
        'es2022,dom',
        '--skipLibCheck',
        'false',
        file,
      ],
      dir,
    );
  }
  console.log(
    `package check: ${tarball} works from ESM, CJS and TypeScript (node16, both module kinds); sluice/redis too, without ioredis installed, and with an ioredis client; sluice/amqp likewise without and with amqplib; sluice/otel with @opentelemetry/api`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
