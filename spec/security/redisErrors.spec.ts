/**
 * Errors of sluice/redis can be logged: their whole object graph (cause included) holds
 * neither a password nor a payload. Also: ioredis options (here a password) pass through to
 * the connections sluice duplicates (blocking reads, the dead-letter tail, broadcast receivers).
 */
import { Redis } from 'ioredis';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { quoted } from '../../src/internal/quietError.js';
import { RedisQueue, redisBroadcast } from '../../src/redis/index.js';
import { type RedisServer, startRedisServer } from '../redis/redisProcess.js';
import { describeRedis } from '../redis/redisServer.js';

const PASSWORD = 'pw-7f3a9c2e51d8b604';
const PAYLOAD = 'card-4111111111111111';

/** Every string reachable from `root` (own properties, enumerable or not, and prototypes' none). */
function strings(root: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown) => {
    if (typeof value === 'string') out.push(value);
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return;
    if (seen.has(value)) return;
    seen.add(value);
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === 'string') out.push(key);
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor !== undefined && 'value' in descriptor) visit(descriptor.value);
    }
  };
  visit(root);
  return out;
}

function leaks(error: unknown): string[] {
  return strings(error).filter((s) => s.includes(PASSWORD) || s.includes(PAYLOAD));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describeRedis('sluice/redis: errors that can be logged, and authentication', () => {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  const url = () => `redis://127.0.0.1:${server!.port}`;
  function connect(password: string | undefined = PASSWORD): Redis {
    const client = new Redis(url(), { password, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    server = await startRedisServer(['--requirepass', PASSWORD]);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  it('a failed script call keeps the name, message and code of the cause, not its arguments', async () => {
    const connection = connect();
    const queue = new RedisQueue<string>({ connection, name: 'errors1' });
    await queue.stats();
    await connection.set(queue.keys.delayed, 'not a sorted set');
    const error = await rejection(queue.enqueue(PAYLOAD, { delay: 1_000 }));
    expect((error as Error).message).toMatch(
      /^RedisQueue.enqueue: the Redis call failed: .*WRONGTYPE/,
    );
    const cause = (error as Error).cause as Error & { code?: unknown };
    expect(cause.name).toBe('ReplyError');
    expect(cause.message).toMatch(/WRONGTYPE/);
    expect(leaks(error)).toEqual([]);
    await queue.close();
  });

  it('an authentication failure carries no password and no payload', async () => {
    const connection = connect(`wrong-${PASSWORD}`);
    const queue = new RedisQueue<string>({ connection, name: 'errors2' });
    const error = await rejection(queue.enqueue(PAYLOAD));
    expect((error as Error).message).toMatch(/^RedisQueue.enqueue: the Redis call failed: /);
    expect(leaks(error)).toEqual([]);
    await queue.close();
  });

  it('redisBroadcast send failures are quiet too', async () => {
    const connection = connect();
    await connection.set('sluice:{errors3}:b', 'not a stream');
    const [tx] = redisBroadcast<string>({ connection, name: 'errors3', capacity: 10 });
    const error = await rejection(tx.send(PAYLOAD));
    expect((error as Error).message).toMatch(/^redisBroadcast.send: the Redis call failed: /);
    expect(leaks(error)).toEqual([]);
  });

  it('a caller id in an error message is quoted and cut short', () => {
    const id = `evil\nFAKE LOG LINE ${'x'.repeat(500)}`;
    const text = quoted(id);
    expect(text).not.toContain('\n');
    expect(text.length).toBeLessThan(80);
    expect(text.startsWith('"evil\\nFAKE LOG LINE')).toBe(true);
  });

  it('the duplicated blocking connection authenticates like the one given', async () => {
    const queue = new RedisQueue<string>({
      connection: connect(),
      name: 'auth1',
      blockTime: 600_000,
    });
    await queue.stats();
    const waiting = queue.receive({ wait: Number.POSITIVE_INFINITY });
    // the blocking read is in place on the duplicated connection (it would fail NOAUTH
    // without the password, and then look again only after blockTime: ten minutes)
    const admin = connect();
    for (;;) {
      const list = String(await admin.call('CLIENT', ['LIST']));
      if (list.includes('cmd=xread')) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const producer = new RedisQueue<string>({ connection: connect(), name: 'auth1' });
    await producer.enqueue('woken');
    const [delivery] = await waiting;
    expect(delivery?.payload).toBe('woken');
    await producer.close();
    await queue.close();
  });

  it('the dead-letter tail and broadcast receivers read on authenticated duplicates', async () => {
    const queue = new RedisQueue<string>({ connection: connect(), name: 'auth2', maxAttempts: 1 });
    await queue.stats();
    const tailed = firstValueFrom(queue.deadLettered);
    await queue.enqueue('doomed', { id: 'doomed' });
    const [delivery] = await queue.receive();
    await queue.nack(delivery!.receipt);
    expect((await tailed).id).toBe('doomed');
    await queue.close();

    const [tx, rx] = redisBroadcast<string>({ connection: connect(), name: 'auth3', capacity: 10 });
    const got = firstValueFrom(rx.pipe(take(1), toArray()));
    for (let i = 0; ; i++) {
      await tx.send(`m${i}`);
      const raced = await Promise.race([got, new Promise((r) => setImmediate(() => r(undefined)))]);
      if (raced !== undefined) break;
    }
    expect((await got).length).toBe(1);
    await tx.close();
  });
});
