/**
 * What only `RedisQueue` shows about message groups and priorities: the keys they use and leave
 * behind, the counts behind `stats` and `capacity`, a blocked receive woken by a message that
 * enters the priority set, distinct receipt nonces when one call leases from the priority set
 * and the stream, group and priority kept through dead letters and redrive, and bad options.
 * Time is a manual clock (the lease clock too); what only Redis can show is read from Redis.
 */
import type { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { closeAfterEach, describeRedis, useRedisServer, waitFor } from './redisServer.js';

describeRedis('RedisQueue groups and priorities (Redis specifics)', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open(options: Partial<RedisQueueOptions<string>> = {}) {
    const connection = redis.connect();
    const clock = new ManualClock();
    const name = `groups${++count}`;
    const make = () => {
      const queue = new RedisQueue<string>({
        connection,
        name,
        clock: 'scheduler',
        scheduler: clock,
        visibilityTimeout: 100,
        ...options,
      });
      opened.push(queue);
      return queue;
    };
    return { connection, clock, queue: make(), peer: make };
  }

  async function payloads(queue: RedisQueue<string>, max: number) {
    return (await queue.receive({ max })).map((d) => d.payload);
  }

  async function keysOf(connection: Redis, queue: RedisQueue<string>): Promise<string[]> {
    return (await connection.keys(`${queue.keys.base}*`)).sort();
  }

  it('keeps the waiting messages of a group in one list and the ready priority messages in one sorted set', async () => {
    const { connection, queue } = open();
    await queue.enqueue('a1', { group: 'a' });
    await queue.enqueue('a2', { group: 'a' });
    await queue.enqueue('a3', { group: 'a', priority: 5 });
    await queue.enqueue('p', { priority: 2 });
    expect(await connection.lrange(queue.keys.messageGroup('a'), 0, -1)).toEqual(['1', '2', '3']);
    expect(await connection.zrange(queue.keys.priority, '0', '-1', 'WITHSCORES')).toEqual([
      expect.stringMatching(/^\d{16}:4$/),
      '-2',
    ]);
    // the head a1 is in the stream; a2, a3 wait; p rang the bell (one entry, not a message)
    const stream = await connection.xrange(queue.keys.stream, '-', '+');
    expect(stream.map(([, fields]) => fields)).toEqual([
      ['k', '1'],
      ['bell', '1'],
    ]);
    const stats = await queue.stats();
    expect(stats).toMatchObject({ visible: 4, inFlight: 0, delayed: 0, enqueued: 4 });
  });

  it('leaves no group list, priority member, bell or counter behind once everything is acknowledged', async () => {
    const { connection, queue } = open();
    for (const g of ['a', 'b']) {
      for (let i = 0; i < 3; i++) await queue.enqueue(`${g}${i}`, { group: g, priority: i - 1 });
    }
    await queue.enqueue('plain');
    let acked = 0;
    for (let round = 0; round < 10 && acked < 7; round++) {
      for (const d of await queue.receive({ max: 10 })) {
        expect((await queue.ack(d.receipt)).ok).toBe(true);
        acked++;
      }
    }
    expect(acked).toBe(7);
    const stats = await queue.stats();
    expect(stats).toMatchObject({ visible: 0, inFlight: 0, acked: 7 });
    expect(
      await connection.exists(queue.keys.messageGroup('a'), queue.keys.messageGroup('b')),
    ).toBe(0);
    expect(await connection.zcard(queue.keys.priority)).toBe(0);
    // what the stream still holds is acknowledged entries not trimmed yet, counted as such
    const stream = await connection.xrange(queue.keys.stream, '-', '+');
    expect(stream.filter(([, fields]) => fields[0] !== 'k')).toEqual([]);
    expect(stream.length).toBe(Number((await connection.hget(queue.keys.counters, 'gh')) ?? 0));
    expect((await connection.xpending(queue.keys.stream, 'sluice'))[0]).toBe(0);
    const counters = await connection.hgetall(queue.keys.counters);
    expect(Number(counters.gw ?? 0)).toBe(0);
    expect(Number(counters.fo ?? 0)).toBe(0);
    expect(counters.bell).toBeUndefined();
    const left = await keysOf(connection, queue);
    expect(left.filter((k) => /:(g|p)(:|$)/.test(k))).toEqual([]);
  });

  it('counts waiting, prioritized and leased-from-the-set messages against the capacity', async () => {
    const { queue } = open({ capacity: 4, overflow: 'error' });
    await queue.enqueue('a1', { group: 'a' });
    await queue.enqueue('a2', { group: 'a' });
    await queue.enqueue('p', { priority: 1 });
    await queue.enqueue('q', { priority: -1 });
    await expect(queue.enqueue('over')).rejects.toThrow(/full/);
    const [p] = await queue.receive();
    expect(p?.payload).toBe('p');
    expect(await queue.stats()).toMatchObject({ visible: 3, inFlight: 1 });
    await expect(queue.enqueue('over')).rejects.toThrow(/full/);
    await queue.ack(p!.receipt);
    expect((await queue.enqueue('fits')).ok).toBe(true);
  });

  it('wakes a receive blocked on the stream when a message enters the priority set', async () => {
    const { connection, queue, peer } = open({ blockTime: 60_000 });
    const other = peer();
    const blocked = async () =>
      Number(/blocked_clients:(\d+)/.exec(String(await connection.call('INFO', ['clients'])))?.[1]);
    const before = await blocked();
    const waiting = queue.receive({ wait: Number.POSITIVE_INFINITY });
    let got: string | undefined;
    void waiting.then((ds) => {
      got = ds[0]?.payload;
    });
    // the first pass found nothing and the receive is now blocked inside Redis
    await waitFor(async () => (await blocked()) > before, {
      what: 'the receive to block in Redis',
      timeout: 10_000,
    });
    expect(got).toBeUndefined();
    await other.enqueue('urgent', { priority: 3 });
    await waitFor(() => got !== undefined, {
      what: 'the blocked receive to wake',
      timeout: 10_000,
    });
    expect(got).toBe('urgent');
  });

  it('gives every delivery of one call its own receipt nonce (priority set and stream together)', async () => {
    const { queue } = open();
    for (let i = 0; i < 5; i++) await queue.enqueue(`hi${i}`, { priority: 1 });
    for (let i = 0; i < 5; i++) await queue.enqueue(`mid${i}`);
    for (let i = 0; i < 5; i++) await queue.enqueue(`lo${i}`, { priority: -1 });
    const got = await queue.receive({ max: 15 });
    expect(got.map((d) => d.payload)).toEqual([
      ...[0, 1, 2, 3, 4].map((i) => `hi${i}`),
      ...[0, 1, 2, 3, 4].map((i) => `mid${i}`),
      ...[0, 1, 2, 3, 4].map((i) => `lo${i}`),
    ]);
    const nonces = got.map((d) => d.receipt.split(':')[2]);
    expect(new Set(nonces).size).toBe(15);
    for (const d of got) expect(await queue.ack(d.receipt)).toEqual({ ok: true });
  });

  it('reads past a bell to the stream entries behind it before any lower priority', async () => {
    const { queue } = open();
    await queue.enqueue('low', { priority: -1 }); // rings the bell
    await queue.enqueue('plain'); // behind the bell in the stream
    expect(await payloads(queue, 1)).toEqual(['plain']);
    expect(await payloads(queue, 1)).toEqual(['low']);
  });

  it('keeps group and priority through a dead letter and its redrive (the redriven one joins the back)', async () => {
    const { queue } = open({ maxAttempts: 1 });
    await queue.enqueue('a1', { group: 'a', priority: 4, id: 'a1' });
    await queue.enqueue('a2', { group: 'a' });
    const [a1] = await queue.receive();
    expect(a1?.payload).toBe('a1');
    expect(await queue.nack(a1!.receipt)).toEqual({ ok: true, deadLettered: true });
    // the dead head let the next one through
    const [a2] = await queue.receive();
    expect(a2?.payload).toBe('a2');
    expect(await queue.redrive(['a1'])).toEqual({ redriven: ['a1'], skipped: [] });
    expect(await queue.receive()).toEqual([]); // behind a2, in flight
    await queue.ack(a2!.receipt);
    await queue.enqueue('plain');
    // a1 heads its group again, with its priority: before the plain message
    expect(await payloads(queue, 2)).toEqual(['a1', 'plain']);
  });

  it('keeps a nacked head in Redis at the head of its list, delayed, while the rest waits', async () => {
    const { connection, clock, queue } = open();
    await queue.enqueue('a1', { group: 'a' });
    await queue.enqueue('a2', { group: 'a' });
    const [a1] = await queue.receive();
    await queue.nack(a1!.receipt, { delay: 50 });
    expect(await queue.receive()).toEqual([]);
    expect(await connection.lrange(queue.keys.messageGroup('a'), 0, -1)).toEqual(['1', '2']);
    expect(await queue.stats()).toMatchObject({ visible: 1, delayed: 1 });
    clock.advance(50);
    expect(await payloads(queue, 2)).toEqual(['a1']);
  });

  it('ends a lease leased from the priority set on expiry, release and nack alike (no stream entry to settle)', async () => {
    const { connection, clock, queue } = open();
    await queue.enqueue('p', { priority: 1, group: 'a' });
    await queue.enqueue('p2', { priority: 1, group: 'a' });
    const [first] = await queue.receive();
    expect(await connection.hget(queue.keys.counters, 'fo')).toBe('1');
    clock.advance(100); // the lease runs out
    const [second] = await queue.receive();
    expect(second).toMatchObject({ payload: 'p', attempt: 2 });
    expect(await queue.ack(first!.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(await queue.release(second!.receipt)).toEqual({ ok: true });
    const [third] = await queue.receive();
    expect(third).toMatchObject({ payload: 'p', attempt: 2 });
    expect(await queue.nack(third!.receipt)).toEqual({ ok: true, deadLettered: false });
    const [fourth] = await queue.receive();
    expect(fourth).toMatchObject({ payload: 'p', attempt: 3 });
    expect(await queue.stats()).toMatchObject({ visible: 1, inFlight: 1, expired: 1, released: 1 });
    expect(await queue.ack(fourth!.receipt)).toEqual({ ok: true });
    expect(await payloads(queue, 5)).toEqual(['p2']);
    expect(await connection.hget(queue.keys.counters, 'fo')).toBe('1');
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 1 });
  });

  it('refuses a bad group or priority, naming it, before anything is sent', async () => {
    const { connection, queue } = open();
    await expect(queue.enqueue('x', { group: '' })).rejects.toThrow(/RedisQueue.enqueue: group/);
    await expect(queue.enqueue('x', { priority: 1.5 })).rejects.toThrow(
      /RedisQueue.enqueue: priority/,
    );
    await expect(queue.send('x', { priority: 2_000_000 })).rejects.toThrow(
      /RedisQueue.send: priority/,
    );
    expect(await keysOf(connection, queue)).toEqual([]);
  });
});
