/**
 * Random runs of enqueues (grouped or not, priorities -1, 0, 1, some plain ones delayed),
 * receives, acks, nacks (some delayed), releases and clock moves on a `RedisQueue` with a
 * manual lease clock, two handles sharing it. After every step: no two live leases of one
 * group, a receive's deliveries come in non-increasing priority, and `stats` counts every live
 * message once (visible + inFlight + delayed = enqueued - acked - dead). Each group's messages
 * are acknowledged in enqueue order, skipping only those that became dead letters. At the end,
 * once everything is drained, Redis holds no group list, no priority member, no bell and
 * counters at zero.
 */
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import type { Delivery } from '../../src/queue/types.js';
import { RedisQueue } from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { describeRedis, useRedisServer } from './redisServer.js';

interface Job {
  readonly group: string;
  readonly n: number;
  readonly priority: number;
}

type Op =
  | { kind: 'enqueue'; group: string; priority: number; delay: number }
  | { kind: 'receive'; handle: number; max: number }
  | { kind: 'settle'; pick: number; how: 'ack' | 'nack' | 'nackLater' | 'release' }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      group: fc.constantFrom('', 'a', 'b', 'c'),
      priority: fc.integer({ min: -1, max: 1 }),
      delay: fc.constantFrom(0, 0, 0, 30),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      handle: fc.integer({ min: 0, max: 1 }),
      max: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      how: fc.constantFrom(
        'ack' as const,
        'ack' as const,
        'nack' as const,
        'nackLater' as const,
        'release' as const,
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 120 }),
    }),
  },
);

describeRedis('RedisQueue groups and priorities, random runs', () => {
  const redis = useRedisServer();
  const connection = () => redis.connect();
  let runs = 0;
  const opened: RedisQueue<Job>[] = [];
  afterAll(async () => {
    for (const queue of opened) await queue.close();
  });

  async function run(ops: Op[]): Promise<void> {
    const conn = connection();
    const clock = new ManualClock();
    const name = `prop${++runs}`;
    const make = () => {
      const queue = new RedisQueue<Job>({
        connection: conn,
        name,
        clock: 'scheduler',
        scheduler: clock,
        visibilityTimeout: 100,
        maxAttempts: 3,
      });
      opened.push(queue);
      return queue;
    };
    const handles = [make(), make()];
    const queue = handles[0]!;
    const held: Delivery<Job>[] = [];
    const enqueued = new Map<string, number[]>(); // group -> n in enqueue order
    const acked = new Map<string, number[]>();
    let count = 0;

    const live = () => held.filter((d) => d.deadline > clock.now());
    const check = async () => {
      const groups = live()
        .map((d) => d.payload.group)
        .filter((g) => g !== '');
      expect(new Set(groups).size).toBe(groups.length);
      const s = await queue.stats();
      expect(s.visible + s.inFlight + s.delayed).toBe(s.enqueued - s.acked - s.dead);
    };

    for (const step of ops) {
      if (step.kind === 'enqueue') {
        const n = count++;
        const job = { group: step.group, n, priority: step.priority };
        // a grouped message joins its group when its delay ends: keep delays to plain ones
        const delay = step.group === '' ? step.delay : 0;
        const options = {
          ...(step.group === '' ? {} : { group: step.group }),
          priority: step.priority,
          delay,
        };
        expect((await queue.enqueue(job, options)).ok).toBe(true);
        if (step.group !== '') enqueued.set(step.group, [...(enqueued.get(step.group) ?? []), n]);
      } else if (step.kind === 'receive') {
        const got = await handles[step.handle]!.receive({ max: step.max });
        const priorities = got.map((d) => d.payload.priority);
        expect(priorities).toEqual([...priorities].sort((x, y) => y - x));
        held.push(...got);
      } else if (step.kind === 'settle') {
        if (held.length === 0) continue;
        const [d] = held.splice(step.pick % held.length, 1);
        if (d === undefined) continue;
        if (step.how === 'ack') {
          const result = await queue.ack(d.receipt);
          if (result.ok && d.payload.group !== '') {
            acked.set(d.payload.group, [...(acked.get(d.payload.group) ?? []), d.payload.n]);
          }
        } else if (step.how === 'release') await queue.release(d.receipt);
        else await queue.nack(d.receipt, step.how === 'nackLater' ? { delay: 20 } : {});
      } else {
        clock.advance(step.ms);
      }
      await check();
    }

    // drain: settle what is held, then receive and ack until nothing is left
    held.length = 0;
    clock.advance(1_000);
    for (let round = 0; round < 200; round++) {
      const got = await queue.receive({ max: 10 });
      if (got.length === 0) {
        const s = await queue.stats();
        if (s.visible + s.inFlight + s.delayed === 0) break;
        clock.advance(100);
        continue;
      }
      for (const d of got) {
        expect((await queue.ack(d.receipt)).ok).toBe(true);
        if (d.payload.group !== '') {
          acked.set(d.payload.group, [...(acked.get(d.payload.group) ?? []), d.payload.n]);
        }
      }
    }
    const s = await queue.stats();
    expect(s).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
    expect(s.acked + s.dead).toBe(count);
    const dead = new Set((await queue.deadLetters()).map((l) => l.payload.n));
    for (const [group, order] of enqueued) {
      expect(acked.get(group) ?? []).toEqual(order.filter((n) => !dead.has(n)));
    }
    expect(await conn.keys(`${queue.keys.base}:g:*`)).toEqual([]);
    expect(await conn.zcard(queue.keys.priority)).toBe(0);
    // what the stream still holds is acknowledged entries not trimmed yet, counted as such
    const stream = await conn.xrange(queue.keys.stream, '-', '+');
    expect(stream.filter(([, fields]) => fields[0] !== 'k')).toEqual([]);
    expect(stream.length).toBe(Number((await conn.hget(queue.keys.counters, 'gh')) ?? 0));
    expect((await conn.xpending(queue.keys.stream, 'sluice'))[0]).toBe(0);
    const counters = await conn.hgetall(queue.keys.counters);
    expect([counters.gw ?? '0', counters.fo ?? '0', counters.bell]).toEqual(['0', '0', undefined]);
    for (const handle of handles) await handle.close();
  }

  it('keeps one lease per group, group order, priority order and exact counts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => run(ops)),
      { numRuns: 40 },
    );
  }, 120_000);
});
