/**
 * What only the Redis store has: serialization and corrupt entries, keys and prefixes, the
 * receipt checks (delivery number, random part, queue), connection failures, the dead-letter tail and
 * the blocking read. The scenarios it shares with the in-memory queue are in
 * spec/queue/storeContract.ts (run by spec/redis/storeContract.spec.ts).
 *
 * Time: the lease clock is a ManualClock (`clock: 'scheduler'`) except where a test is about
 * the Redis server's clock. A few tests wait for a condition that only Redis can show (a
 * client blocked in XREAD, a connection closed); they poll it with a bounded deadline and
 * assert no duration.
 */
import { firstValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { ChannelClosedError, ChannelFullError } from '../../src/errors.js';
import type { QueueDeadLetter } from '../../src/queue/types.js';
import {
  jsonSerializer,
  RedisCommandError,
  RedisQueue,
  type RedisQueueOptions,
  redisQueueKeys,
} from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { closeAfterEach, describeRedis, useRedisServer, waitFor } from './redisServer.js';

describeRedis('RedisQueue on a real redis-server', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open<T = string>(options: Partial<RedisQueueOptions<T>> = {}) {
    const clock = new ManualClock();
    const connection = redis.connect();
    const queue = new RedisQueue<T>({
      connection,
      name: `q${++count}`,
      clock: 'scheduler',
      scheduler: clock,
      visibilityTimeout: 100,
      ...options,
    });
    opened.push(queue);
    return { clock, connection, queue };
  }

  it("a caller id in the generated range ('#<n>') is refused, so it can never collide with a generated one", async () => {
    const { queue } = open();
    await expect(queue.enqueue('x', { id: '#999' })).rejects.toThrow(
      /id must not start with '#' unless it is a generated id given back/,
    );
    const generated = await queue.enqueue('a');
    expect(generated).toMatchObject({ ok: true, id: expect.stringMatching(/^#\d+$/) });
    expect(await queue.stats()).toMatchObject({ visible: 1 });
  });

  it('rejects payloads that do not serialise, naming them, and enqueues nothing', async () => {
    const { queue } = open<unknown>();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const cases: Array<[unknown, RegExp]> = [
      [10n, /the payload is a BigInt/],
      [{ total: 10n }, /"total" is a BigInt/],
      [cyclic, /circular/i],
      [undefined, /the payload is undefined/],
      [() => 1, /the payload is a function/],
      [{ run: () => 1 }, /"run" is a function/],
      [{ tags: new Set(['a']) }, /"tags" is a Set/],
      [{ ratio: Number.NaN }, /"ratio" is NaN \(not finite\)/],
      [[1, undefined], /element 1 is undefined/],
    ];
    for (const [payload, detail] of cases) {
      const error = await queue.enqueue(payload).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(
        /^RedisQueue\.enqueue: payload must be serialisable by the queue's serializer, got /,
      );
      expect((error as Error).message).toMatch(detail);
    }
    await expect(queue.send({ n: 1n })).rejects.toThrow(/RedisQueue\.send: payload must be/);
    expect(await queue.stats()).toMatchObject({ enqueued: 0, visible: 0 });
  });

  it('a custom serializer round-trips, and one that returns no string is refused', async () => {
    const dates = {
      serialize: (d: Date) => String(d.getTime()),
      deserialize: (text: string) => new Date(Number(text)),
    };
    const { queue } = open<Date>({ serializer: dates });
    await queue.enqueue(new Date(86_400_000));
    const [d] = await queue.receive();
    expect(d?.payload).toBeInstanceOf(Date);
    expect(d?.payload.getTime()).toBe(86_400_000);

    const { queue: broken } = open<string>({
      serializer: { serialize: () => 42 as unknown as string, deserialize: (t) => t },
    });
    await expect(broken.enqueue('x')).rejects.toThrow(
      'RedisQueue.enqueue: serializer.serialize must return a string, got 42 for payload "x"',
    );
  });

  it('a foreign entry in the stream is dead-lettered with its reason; the consumer carries on', async () => {
    const { queue, connection } = open();
    await queue.enqueue('before');
    await connection.xadd(queue.keys.stream, '*', 'payload', 'not one of ours');
    await connection.xadd(queue.keys.stream, '*', 'k', '999999');
    await queue.enqueue('after');
    const got = await queue.receive({ max: 10 });
    expect(got.map((d) => d.payload)).toEqual(['before', 'after']);
    const letters = await queue.deadLetters();
    expect(letters).toHaveLength(2);
    expect(letters[0]).toMatchObject({ id: '', payload: undefined, reason: 'corrupt' });
    expect(letters[0]!.lastError).toBeInstanceOf(Error);
    expect((letters[0]!.lastError as Error).name).toBe('TypeError');
    expect((letters[0]!.lastError as Error).message).toMatch(
      /stream entry \d+-\d+ has no message key \(field k\): \["payload","not one of ours"\]/,
    );
    expect((letters[1]!.lastError as Error).message).toMatch(
      /names message 999999, which does not exist/,
    );
    expect(await queue.stats()).toMatchObject({
      inFlight: 2,
      visible: 0,
      dead: 2,
      deadLettered: 2,
    });
    // corrupt letters are not redriven: they would only fail again
    expect(await queue.redrive()).toEqual({ redriven: [], skipped: [] });
    expect((await queue.purgeDeadLetters()).length).toBe(2);
  });

  it('a payload the serializer cannot read is dead-lettered with the reason, never handed out', async () => {
    const { queue, connection } = open<{ n: number }>();
    await queue.enqueue({ n: 1 }, { id: 'bad' });
    await queue.enqueue({ n: 2 }, { id: 'good' });
    const seq = await connection.get(queue.keys.id('bad'));
    await connection.hset(queue.keys.message(seq!), 'p', '{"n": ');
    const got = await queue.receive({ max: 10 });
    expect(got.map((d) => d.id)).toEqual(['good']);
    const [letter] = await queue.deadLetters();
    expect(letter).toMatchObject({ id: 'bad', payload: undefined, attempts: 1, reason: 'corrupt' });
    expect((letter!.lastError as Error).message).toMatch(
      /^RedisQueue: message "bad" has a payload the serializer cannot read \(/,
    );
    expect(await queue.stats()).toMatchObject({ inFlight: 1, dead: 1 });
  });

  it('keys live under the prefix and the queue name: queues and applications do not mix', async () => {
    const connection = redis.connect();
    const a = new RedisQueue<string>({ connection, name: 'shared', prefix: 'app-a:' });
    const b = new RedisQueue<string>({ connection, name: 'shared', prefix: 'app-b:' });
    const c = new RedisQueue<string>({ connection, name: 'other', prefix: 'app-a:' });
    opened.push(a, b, c);
    const expected = redisQueueKeys('shared', 'app-a:');
    expect([a.keys.stream, a.keys.dead, a.keys.message(1)]).toEqual([
      expected.stream,
      expected.dead,
      'app-a:{shared}:m:1',
    ]);
    await a.enqueue('for a', { id: 'same' });
    expect(await b.enqueue('for b', { id: 'same' })).toEqual({ ok: true, id: 'same' });
    expect((await c.receive()).length).toBe(0);
    expect((await b.receive())[0]?.payload).toBe('for b');
    expect((await a.receive())[0]?.payload).toBe('for a');
    const keys = (await connection.keys('app-a:*')).sort();
    expect(keys.filter((k) => !/^app-a:\{(shared|other)\}:/.test(k))).toEqual([]);
    expect(keys).toEqual(
      expect.arrayContaining(['app-a:{shared}:s', 'app-a:{shared}:l', 'app-a:{shared}:c']),
    );
  });

  it('a receipt names the delivery number, its random part and the queue, each checked in Lua', async () => {
    const { queue } = open();
    await queue.enqueue('x');
    const [d] = await queue.receive();
    const [seq, n, nonce, ...rest] = d!.receipt.split(':');
    expect(rest.join(':')).toBe(queue.keys.base);
    expect(nonce).toMatch(/^[\w-]{16}$/);
    const base = queue.keys.base;
    const flipped = `${nonce!.slice(0, -1)}${nonce!.endsWith('A') ? 'B' : 'A'}`;
    expect(await queue.ack(`${seq}:${n}:${flipped}:${base}`)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(await queue.ack(`${seq}:${n}:${nonce}:sluice:{other}`)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(await queue.ack(`${seq}:${Number(n) + 1}:${nonce}:${base}`)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(await queue.stats()).toMatchObject({ inFlight: 1, acked: 0 });
    // the acks of one turn share one script call: a malformed receipt among them (one that
    // would read as two, or lacks the queue) is refused alone, and the others keep their place
    const unknown = { ok: false, reason: 'unknown' };
    expect(
      await Promise.all([
        queue.ack(`${seq}:${n}:${nonce} ${seq}:${n}:${nonce}:${base}`),
        queue.ack(` ${d!.receipt}`),
        queue.ack(d!.receipt),
        queue.ack(`${seq}:${n}:${nonce}`),
        queue.ack(''),
      ]),
    ).toEqual([unknown, unknown, { ok: true }, unknown, unknown]);
  });

  it('an ack call the client sends again (after a reconnect) gets the answers of the first', async () => {
    const { connection, queue } = open();
    await Promise.all(['a', 'b'].map((p) => queue.enqueue(p)));
    const deliveries = await queue.receive({ max: 2 });
    const sent: Array<Array<string | number>> = [];
    const call = connection.call.bind(connection);
    connection.call = ((command: string, args: Array<string | number>) => {
      if (command === 'EVALSHA') sent.push(args);
      return call(command, args);
    }) as typeof connection.call;
    const stale = `${deliveries[1]!.receipt.split(':')[0]}:9:AAAAAAAAAAAAAAAA:${queue.keys.base}`;
    expect(
      await Promise.all([
        queue.ack(deliveries[0]!.receipt),
        queue.ack(stale),
        queue.ack(deliveries[1]!.receipt),
      ]),
    ).toEqual([{ ok: true }, { ok: false, reason: 'unknown' }, { ok: true }]);
    expect(sent).toHaveLength(1);
    // the same call once more: each ack is recognised by its token as this call's own
    const again = (await call('EVALSHA', sent[0]!)) as unknown[];
    expect(again[0]).toBe('ok unknown ok');
    // a new call with the same receipts is told the truth
    expect(await queue.ack(deliveries[0]!.receipt)).toEqual({ ok: false, reason: 'acked' });
  });

  it('a receipt survives a new connection only through the check: another handle may settle it', async () => {
    const { queue, clock } = open();
    await queue.enqueue('x');
    const [d] = await queue.receive();
    // "after a reconnect": a fresh handle on a fresh connection, same clock
    const again = new RedisQueue<string>({
      connection: redis.connect(),
      name: queue.keys.base.slice('sluice:{'.length, -1),
      clock: 'scheduler',
      scheduler: clock,
      visibilityTimeout: 100,
    });
    opened.push(again);
    clock.advance(100);
    const [redelivered] = await again.receive();
    expect(redelivered?.attempt).toBe(2);
    expect(await again.ack(d!.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(await queue.ack(redelivered!.receipt)).toEqual({ ok: true });
  });

  it('the default clock is the Redis server: deadlines are in its time, extend may exceed the timeout', async () => {
    const connection = redis.connect();
    const queue = new RedisQueue<string>({
      connection,
      name: `q${++count}`,
      visibilityTimeout: 5_000,
    });
    opened.push(queue);
    await queue.enqueue('x');
    const [seconds = 0, micros = 0] = (await connection.time()).map(Number);
    const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const [d] = await queue.receive();
    expect(d!.deadline - serverNow).toBeGreaterThanOrEqual(4_000);
    expect(d!.deadline - serverNow).toBeLessThanOrEqual(5_000 + 60_000);
    const extended = await queue.extend(d!.receipt, 3_600_000);
    expect(extended.ok && extended.deadline - d!.deadline).toBeGreaterThan(3_500_000);
    expect(await queue.ack(d!.receipt)).toEqual({ ok: true });
  });

  it('capacity counts live messages in Redis: error, drop with a report, and send that waits', async () => {
    const dropped: string[] = [];
    const { queue: strict } = open({ capacity: 2, overflow: 'error' });
    await strict.enqueue('a');
    await strict.enqueue('b');
    const refused = await strict.enqueue('c').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChannelFullError);
    expect(refused).toMatchObject({ value: 'c' });

    const { queue: lossy } = open({
      capacity: 1,
      overflow: 'drop',
      onOverflow: (p: string) => dropped.push(p),
    });
    await lossy.enqueue('a');
    expect(await lossy.enqueue('b', { id: 'b' })).toEqual({
      ok: false,
      reason: 'dropped',
      id: 'b',
    });
    expect(dropped).toEqual(['b']);
    expect((await lossy.stats()).dropped).toBe(1);

    const { queue, clock } = open({ capacity: 1 });
    await queue.enqueue('a');
    await expect(queue.enqueue('b')).rejects.toThrow(/enqueue\(\) cannot wait, use await send\(\)/);
    let sent: unknown;
    void queue.send('b').then((r) => {
      sent = r;
    });
    await waitFor(() => clock.pending > 0); // the send found the queue full and waits
    const [a] = await queue.receive();
    await queue.ack(a!.receipt);
    clock.advance(25);
    await waitFor(() => sent !== undefined);
    expect(sent).toMatchObject({ ok: true });

    const controller = new AbortController();
    const aborted = queue.send('c', { signal: controller.signal });
    await waitFor(() => clock.pending > 0);
    controller.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    const closing = queue.send('d');
    await waitFor(() => clock.pending > 0);
    void queue.close();
    await expect(closing).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('dead letters beyond the capacity are evicted and reported', async () => {
    const evicted: string[] = [];
    const { queue } = open({
      maxAttempts: 1,
      deadLetter: {
        capacity: 1,
        onEvict: (letter: QueueDeadLetter<string>) => evicted.push(letter.id),
      },
    });
    for (const id of ['a', 'b']) {
      await queue.enqueue(id, { id });
      const [d] = await queue.receive();
      await queue.nack(d!.receipt);
    }
    expect(evicted).toEqual(['a']);
    expect((await queue.deadLetters()).map((l) => l.id)).toEqual(['b']);
    expect(await queue.stats()).toMatchObject({ dead: 1, deadEvicted: 1, deadLettered: 2 });
  });

  it('deadLettered emits the dead letters of every handle of the queue', async () => {
    const { queue, clock } = open({ maxAttempts: 1 });
    const other = new RedisQueue<string>({
      connection: redis.connect(),
      name: queue.keys.base.slice('sluice:{'.length, -1),
      clock: 'scheduler',
      scheduler: clock,
      maxAttempts: 1,
    });
    opened.push(other);
    const first = firstValueFrom(queue.deadLettered);
    await waitFor(async () => {
      const clients = (await redis.connect().client('LIST')) as string;
      return clients.includes('cmd=xread');
    });
    await other.enqueue('doomed', { id: 'd' });
    const [d] = await other.receive();
    await other.nack(d!.receipt, { error: new Error('no') });
    const letter = await first;
    expect(letter).toMatchObject({ id: 'd', payload: 'doomed', reason: 'nacked', attempts: 1 });
    expect((letter.lastError as Error).message).toBe('no');
  });

  it('a long poll blocks in Redis and is woken by an enqueue from another handle', async () => {
    const { queue } = open();
    const watcher = redis.connect();
    const blocked = async () => ((await watcher.client('LIST')) as string).includes('cmd=xread');
    const polled = queue.receive({ wait: Number.POSITIVE_INFINITY });
    await waitFor(blocked);
    const producer = new RedisQueue<string>({
      connection: redis.connect(),
      name: queue.keys.base.slice('sluice:{'.length, -1),
    });
    await producer.enqueue('wake up');
    expect((await polled)[0]?.payload).toBe('wake up');
    await queue.close();
    await waitFor(async () => !(await blocked())); // the blocking connection is closed
  });

  it('a failed connection rejects with an error that names the call, and nothing is settled', async () => {
    const { queue, connection } = open();
    await queue.enqueue('x');
    const [d] = await queue.receive();
    connection.disconnect();
    const error = await queue.ack(d!.receipt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisCommandError);
    expect(error).toMatchObject({ name: 'RedisCommandError', operation: 'RedisQueue.ack' });
    expect((error as Error).message).toMatch(/^RedisQueue\.ack: the Redis call failed: /);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(queue.enqueue('y')).rejects.toThrow(/^RedisQueue\.enqueue: the Redis call failed/);
    // the message is still leased, not acknowledged: another handle sees it in flight
    const { queue: observer } = open({ name: queue.keys.base.slice('sluice:{'.length, -1) });
    expect(await observer.stats()).toMatchObject({ inFlight: 1, acked: 0 });
  });

  it('validates its options and arguments', async () => {
    const connection = redis.connect();
    expect(() => new RedisQueue({ connection: {} as never, name: 'q' })).toThrow(
      'RedisQueue: connection must be a Redis client (an ioredis Redis instance), got an object (Object)',
    );
    expect(() => new RedisQueue({ connection, name: '' })).toThrow(TypeError);
    expect(() => new RedisQueue({ connection, name: 'a{b}' })).toThrow(
      'redisQueueKeys: name must be a non-empty string without braces, got "a{b}"',
    );
    expect(() => new RedisQueue({ connection, name: 'q', overflow: 'replace' as never })).toThrow(
      "RedisQueue: overflow must be one of 'block', 'error', 'drop', got \"replace\"",
    );
    expect(() => new RedisQueue({ connection, name: 'q', clock: 'wall' as never })).toThrow(
      TypeError,
    );
    expect(() => new RedisQueue({ connection, name: 'q', visibilityTimeout: -1 })).toThrow(
      RangeError,
    );
    expect(() => new RedisQueue({ connection, name: 'q', blockTime: 0 })).toThrow(RangeError);
    expect(
      () => new RedisQueue({ connection, name: 'q', serializer: jsonSerializer as never }),
    ).toThrow(/serializer must be an object with serialize and deserialize functions/);
    const { queue } = open();
    await expect(queue.receive({ max: 0 })).rejects.toThrow(
      'RedisQueue.receive: max must be a whole number >= 1, got 0',
    );
    await expect(queue.enqueue('x', { id: '' })).rejects.toThrow(
      'RedisQueue.enqueue: id must be a non-empty string, got ""',
    );
    await expect(queue.nack('r', { delay: -1 })).rejects.toThrow(RangeError);
    await expect(queue.extend('r', Number.NaN)).rejects.toThrow(RangeError);
    await expect(queue.redrive('abc' as never)).rejects.toThrow(TypeError);
  });
});
