/**
 * Acknowledged entries of `RedisQueue`'s stream: an ack leaves its entry in the stream,
 * acknowledged and counted (`gh` in the counters hash), and whole stream nodes of them are
 * trimmed once they are all older than the oldest pending entry. These tests hold that the
 * trimming removes only acknowledged entries (nothing live is lost), that they never count as
 * live (capacity and stats), and that the stream stays bounded, also while one lease pins the
 * oldest entry for long.
 */
import fc from 'fast-check';
import type { Delivery } from 'sluice';
import { expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { closeAfterEach, describeRedis, useRedisServer } from './redisServer.js';

/** Acks between two trims, and the most acknowledged entries kept (prelude.ts). */
const GHOST_TRIM = 128;
const GHOST_CAP = 10_000;
/** Entries of one stream node (redis-server's default stream-node-max-entries). */
const NODE = 100;

describeRedis('RedisQueue: acknowledged entries of the stream', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open(options: Partial<RedisQueueOptions<number>> = {}) {
    const connection = redis.connect();
    const queue = new RedisQueue<number>({
      connection,
      name: `acked${++count}`,
      capacity: Infinity,
      ...options,
    });
    opened.push(queue);
    /** The stream's length, its acknowledged entries, and its pending ones. */
    const stream = async () => {
      const [length, ghosts, pending] = await Promise.all([
        connection.xlen(queue.keys.stream),
        connection.hget(queue.keys.counters, 'gh'),
        connection.xpending(queue.keys.stream, 'sluice') as Promise<[number, ...unknown[]]>,
      ]);
      return { length, ghosts: Number(ghosts ?? 0), pending: pending[0] };
    };
    /** Pending entries that the stream no longer holds (a trim must never remove one). */
    const pendingGone = async () => {
      const pending = (await connection.xpending(
        queue.keys.stream,
        'sluice',
        '-',
        '+',
        10_000,
      )) as Array<[string, ...unknown[]]>;
      const ids = new Set((await connection.xrange(queue.keys.stream, '-', '+')).map(([id]) => id));
      return pending.map(([id]) => id).filter((id) => !ids.has(id));
    };
    return { connection, queue, stream, pendingGone };
  }

  async function enqueueRange(queue: RedisQueue<number>, from: number, to: number) {
    for (let start = from; start < to; start += 1_000) {
      const end = Math.min(start + 1_000, to);
      const results = await Promise.all(
        Array.from({ length: end - start }, (_, i) => queue.enqueue(start + i)),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    }
  }

  /** Receives and acks until `total` messages were acked; returns their payloads. */
  async function receiveAndAck(queue: RedisQueue<number>, total: number, max = 200) {
    const payloads: number[] = [];
    while (payloads.length < total) {
      const batch = await queue.receive({ max: Math.min(max, total - payloads.length) });
      expect(batch.length).toBeGreaterThan(0);
      const acks = await Promise.all(batch.map((d) => queue.ack(d.receipt)));
      expect(acks.every((a) => a.ok)).toBe(true);
      payloads.push(...batch.map((d) => d.payload));
    }
    return payloads;
  }

  it('keeps at most a trim step and a node of acknowledged entries, all counted', async () => {
    const { queue, stream } = open();
    await enqueueRange(queue, 0, 3_000);
    const payloads = await receiveAndAck(queue, 3_000);
    expect(new Set(payloads).size).toBe(3_000);
    const s = await stream();
    expect(s.pending).toBe(0);
    expect(s.length).toBe(s.ghosts);
    expect(s.length).toBeLessThanOrEqual(GHOST_TRIM + NODE);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 3_000 });
  });

  it('does not count acknowledged entries as live: capacity and stats', async () => {
    const { queue, stream } = open({ capacity: 5, overflow: 'error' });
    await enqueueRange(queue, 0, 5);
    await receiveAndAck(queue, 5);
    expect((await stream()).ghosts).toBe(5);
    await enqueueRange(queue, 5, 10);
    await expect(queue.enqueue(10)).rejects.toThrow(/full/i);
    expect(await queue.stats()).toMatchObject({ visible: 5, inFlight: 0, acked: 5 });
    const [held] = await queue.receive({ max: 1 });
    expect(await queue.stats()).toMatchObject({ visible: 4, inFlight: 1 });
    expect((await queue.ack(held!.receipt)).ok).toBe(true);
    expect(await queue.stats()).toMatchObject({ visible: 4, inFlight: 0, acked: 6 });
  });

  it('bounds the acknowledged entries a long-held lease pins, and trims them once it ends', async () => {
    const { queue, stream, pendingGone } = open({ visibilityTimeout: Infinity });
    await enqueueRange(queue, 0, 1);
    const [held] = await queue.receive({ max: 1 });
    const total = GHOST_CAP + 1_500;
    await enqueueRange(queue, 1, total + 1);
    await receiveAndAck(queue, total, 500);
    const pinned = await stream();
    expect(pinned.pending).toBe(1);
    expect(pinned.ghosts).toBeLessThanOrEqual(GHOST_CAP);
    expect(pinned.length).toBe(pinned.ghosts + 1);
    expect(await pendingGone()).toEqual([]);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 1, acked: total });
    // the held message was never trimmed away: it can still be acknowledged
    expect((await queue.ack(held!.receipt)).ok).toBe(true);
    await enqueueRange(queue, total + 1, total + 1 + 2 * GHOST_TRIM);
    await receiveAndAck(queue, 2 * GHOST_TRIM);
    const after = await stream();
    expect(after.length).toBe(after.ghosts);
    expect(after.length).toBeLessThanOrEqual(GHOST_TRIM + NODE);
  });

  it('property: trims lose and repeat nothing, whatever the order of acks and nacks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            enqueue: fc.integer({ min: 50, max: 200 }),
            receive: fc.integer({ min: 50, max: 200 }),
            settle: fc.array(
              fc.oneof(
                { arbitrary: fc.constant('ack' as const), weight: 5 },
                { arbitrary: fc.constant('nack' as const), weight: 1 },
                { arbitrary: fc.constant('keep' as const), weight: 2 },
              ),
              { minLength: 200, maxLength: 200 },
            ),
          }),
          { minLength: 4, maxLength: 12 },
        ),
        async (steps) => {
          const { queue, stream, pendingGone } = open({ maxAttempts: Infinity });
          let next = 0;
          const acked: number[] = [];
          let held: Delivery<number>[] = [];
          for (const step of steps) {
            await enqueueRange(queue, next, next + step.enqueue);
            next += step.enqueue;
            held.push(...(await queue.receive({ max: step.receive })));
            // settles the oldest held deliveries first, so that pins move
            const kept: Delivery<number>[] = [];
            for (const [i, delivery] of held.entries()) {
              const how = step.settle[i] ?? 'keep';
              if (how === 'ack') {
                expect((await queue.ack(delivery.receipt)).ok).toBe(true);
                acked.push(delivery.payload);
              } else if (how === 'nack') {
                expect((await queue.nack(delivery.receipt)).ok).toBe(true);
              } else kept.push(delivery);
            }
            held = kept;
            const s = await stream();
            const stats = await queue.stats();
            expect(s.pending).toBe(held.length);
            expect(stats.inFlight).toBe(held.length);
            expect(stats.visible + stats.inFlight).toBe(next - acked.length);
            expect(s.length - s.ghosts).toBe(stats.visible + stats.inFlight);
            expect(await pendingGone()).toEqual([]);
          }
          for (const delivery of held) {
            expect((await queue.ack(delivery.receipt)).ok).toBe(true);
            acked.push(delivery.payload);
          }
          acked.push(...(await receiveAndAck(queue, next - acked.length)));
          const end = await stream();
          expect(end.length).toBe(end.ghosts);
          expect([...acked].sort((a, b) => a - b)).toEqual(
            Array.from({ length: next }, (_, i) => i),
          );
        },
      ),
      { numRuns: 15 },
    );
  });
});
