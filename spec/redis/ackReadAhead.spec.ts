/**
 * The consume fast path of `RedisQueue`: the acks of a batch lease the next deliveries of the
 * workers they free in the same script call (one round trip per batch), without the consumer
 * ever holding more leases than its `concurrency`; deliveries leased ahead and not yet taken
 * are released when the consumer stops. Script calls are counted by wrapping the connection;
 * conditions only Redis can show are polled with a bounded deadline; no duration is asserted.
 */
import fc from 'fast-check';
import { BehaviorSubject, lastValueFrom, toArray } from 'rxjs';
import type { Delivery } from 'sluice';
import { describe, expect, it } from 'vitest';
import { AckReadAhead } from '../../src/redis/deliverySource.js';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { scripts } from '../../src/redis/scripts.js';
import { closeAfterEach, describeRedis, useRedisServer, waitFor } from './redisServer.js';

const scriptNames = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));

describeRedis('RedisQueue consume: next deliveries leased with the acks', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  /** A queue whose script calls are counted by name (`calls.ack`, `calls.receive`, ...). */
  function open<T = number>(options: Partial<RedisQueueOptions<T>> = {}) {
    const connection = redis.connect();
    const calls: Record<string, number> = {};
    const call = connection.call.bind(connection);
    const counted = Object.assign(Object.create(connection) as typeof connection, {
      call: (command: string, args: Array<string | number>) => {
        if (command === 'EVALSHA') {
          const name = scriptNames.get(String(args[0])) ?? '?';
          calls[name] = (calls[name] ?? 0) + 1;
        }
        return call(command, args);
      },
    });
    const name = `readAhead${++count}`;
    const queue = new RedisQueue<T>({ connection: counted, name, capacity: 10_000, ...options });
    opened.push(queue);
    return { connection, queue, calls, leasesKey: queue.keys.leases, name };
  }

  /** Consumes `count` messages with a no-op handler, then drains; resolves with the outcomes. */
  function consumeAll(queue: RedisQueue<number>, count: number, concurrency: number) {
    const drain = new AbortController();
    let done = 0;
    return lastValueFrom(
      queue
        .consume(
          () => {
            if (++done === count) drain.abort();
          },
          { concurrency, drain: drain.signal },
        )
        .pipe(toArray()),
    );
  }

  it('one script call per batch of acks: the acks lease the next deliveries', async () => {
    const { queue, calls } = open();
    await Promise.all(Array.from({ length: 400 }, (_, n) => queue.enqueue(n)));
    for (const key of Object.keys(calls)) delete calls[key];
    const all = await consumeAll(queue, 400, 8);
    expect(all.map((o) => o.status)).toEqual(Array(400).fill('acked'));
    expect(new Set(all.map((o) => o.message.payload)).size).toBe(400);
    // the first receive, then one ack script per batch of 8 carrying the next 8 deliveries
    expect(calls.receive ?? 0).toBeLessThanOrEqual(2);
    expect(calls.ack).toBeLessThanOrEqual(400 / 8 + 2);
    expect(await queue.stats()).toMatchObject({ acked: 400, inFlight: 0, visible: 0 });
  });

  /** Ack script calls of a consumer of concurrency 16 over 320 messages. */
  async function ackCalls(others: number) {
    const { queue, calls, name } = open();
    await Promise.all(Array.from({ length: 320 + others }, (_, n) => queue.enqueue(n)));
    // another consumer's leases, held by a second handle through the whole run
    const other = open({ name }).queue;
    const held = others > 0 ? await other.receive({ max: others }) : [];
    expect(held).toHaveLength(others);
    for (const key of Object.keys(calls)) delete calls[key];
    await consumeAll(queue, 320, 16);
    return calls.ack ?? 0;
  }

  it('acks of a turn of 16 go out in two calls when alone, in one when other consumers hold leases', async () => {
    const alone = await ackCalls(0);
    const shared = await ackCalls(5);
    // alone: the turn's 16 acks in two calls of 8 (the workers then alternate in two groups)
    expect(alone).toBeGreaterThanOrEqual(320 / 8 - 2);
    // shared: Redis has the other consumer's calls to run; each turn's acks go out whole (turns
    // are whole until an answer tells the consumer it is alone; the last ones are short)
    expect(shared).toBeLessThanOrEqual(320 / 16 + 4);
  });

  it('the consumer never holds more leases than its concurrency', async () => {
    const { queue, connection, leasesKey } = open();
    await Promise.all(Array.from({ length: 120 }, (_, n) => queue.enqueue(n)));
    const drain = new AbortController();
    let most = 0;
    let done = 0;
    await lastValueFrom(
      queue
        .consume(
          async () => {
            // what Redis counts as leased while this handler runs
            most = Math.max(most, Number(await connection.call('ZCARD', [leasesKey])));
            if (++done === 120) drain.abort();
          },
          { concurrency: 6, signal: drain.signal },
        )
        .pipe(toArray()),
    );
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(6);
    expect(await queue.stats()).toMatchObject({ acked: 120, inFlight: 0 });
  });

  it('deliveries leased ahead wait for a paused consumer, and are released when it stops', async () => {
    const { queue } = open();
    await Promise.all(Array.from({ length: 20 }, (_, n) => queue.enqueue(n)));
    const concurrency = new BehaviorSubject(4);
    let started = 0;
    const seen: number[] = [];
    const subscription = queue
      .consume(
        (message) => {
          seen.push(message.payload);
          // pause after the first 4 and after 6: their acks still lease as many, which wait
          started++;
          if (started === 4 || started === 6) concurrency.next(0);
        },
        { concurrency },
      )
      .subscribe();
    await waitFor(async () => (await queue.stats()).acked === 4, { what: '4 acks' });
    expect(await queue.stats()).toMatchObject({ inFlight: 4, visible: 12 });
    concurrency.next(2); // served from the 4 held: no receive needed
    await waitFor(async () => (await queue.stats()).acked === 6, { what: '6 acks' });
    expect(await queue.stats()).toMatchObject({ inFlight: 4, visible: 10 });
    subscription.unsubscribe();
    await waitFor(async () => (await queue.stats()).inFlight === 0, { what: 'the releases' });
    expect(await queue.stats()).toMatchObject({ acked: 6, visible: 14, released: 4 });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('close() releases deliveries leased ahead, and the consumer hands none of them out', async () => {
    const { queue } = open();
    await Promise.all(Array.from({ length: 20 }, (_, n) => queue.enqueue(n)));
    const concurrency = new BehaviorSubject(4);
    const seen: number[] = [];
    const outcomes = lastValueFrom(
      queue
        .consume(
          (message) => {
            seen.push(message.payload);
            if (seen.length === 4) concurrency.next(0);
          },
          { concurrency },
        )
        .pipe(toArray()),
    );
    await waitFor(async () => (await queue.stats()).acked === 4, { what: '4 acks' });
    expect(await queue.stats()).toMatchObject({ inFlight: 4 }); // leased ahead, held
    expect(await queue.close()).toEqual({ released: 4 });
    concurrency.next(2);
    expect((await outcomes).map((o) => o.status)).toEqual(Array(4).fill('acked'));
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('close() hands out nothing leased after it: acks sent after close lease nothing', async () => {
    const { queue, calls } = open();
    await Promise.all(Array.from({ length: 10 }, (_, n) => queue.enqueue(n)));
    let resolveGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      resolveGate = resolve;
    });
    let started = 0;
    const outcomes = lastValueFrom(
      queue
        .consume(
          async () => {
            started++;
            await gate;
          },
          { concurrency: 3 },
        )
        .pipe(toArray()),
    );
    await waitFor(() => started === 3, { what: '3 handlers to start' });
    const closing = queue.close({ grace: 60_000 });
    resolveGate();
    expect(await closing).toEqual({ released: 0 });
    expect((await outcomes).map((o) => o.status)).toEqual(['acked', 'acked', 'acked']);
    expect(started).toBe(3);
    expect(calls.ack).toBe(1);
  });
});

describe('AckReadAhead', () => {
  const delivery = (receipt: string, deadline = Number.POSITIVE_INFINITY): Delivery<number> => ({
    id: receipt,
    payload: 0,
    attempt: 1,
    receipt,
    deadline,
  });
  function reader() {
    const got: string[][] = [];
    let expected = 0;
    return {
      open: true,
      got,
      get expected() {
        return expected;
      },
      expect: (n: number) => {
        expected += n;
      },
      arrive: (n: number, deliveries: readonly Delivery<number>[]) => {
        expected -= n;
        got.push(deliveries.map((d) => d.receipt));
      },
    };
  }

  it('leases one delivery per ack of a receipt an open reader handed out, split in order', () => {
    const ahead = new AckReadAhead<number>(() => 0);
    const a = reader();
    const b = reader();
    for (const r of ['a1', 'a2']) ahead.handedOut(a, delivery(r));
    ahead.handedOut(b, delivery('b1'));
    const plan = ahead.plan(['a1', 'x', 'b1', 'a2', 'a1'], 1_000);
    expect(plan.want).toBe(3);
    expect([a.expected, b.expected]).toEqual([2, 1]);
    plan.deliver([delivery('n1'), delivery('n2')]);
    expect(a.got).toEqual([['n1', 'n2']]);
    expect(b.got).toEqual([[]]);
    expect([a.expected, b.expected]).toEqual([0, 0]);
    // a receipt is planned once
    expect(ahead.plan(['a1', 'b1'], 1_000).want).toBe(0);
  });

  it('plans nothing for forgotten receipts, closed readers, or beyond max', () => {
    const ahead = new AckReadAhead<number>(() => 0);
    const a = reader();
    for (const r of ['1', '2', '3', '4']) ahead.handedOut(a, delivery(r));
    ahead.forget('1');
    expect(ahead.plan(['1', '2', '3'], 1).want).toBe(1);
    a.open = false;
    expect(ahead.plan(['4'], 1_000).want).toBe(0);
  });

  it('keeps at most about twice the live receipts, whatever expires unacked', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 5_000 }), (acked) => {
        let now = 0;
        const ahead = new AckReadAhead<number>(() => now);
        const a = reader();
        let most = 0;
        acked.forEach((ack, n) => {
          now = n;
          ahead.handedOut(a, delivery(String(n), n + 10));
          if (ack) ahead.plan([String(n)], 1_000);
          most = Math.max(most, (ahead as unknown as { owners: Map<string, unknown> }).owners.size);
        });
        expect(most).toBeLessThanOrEqual(2_048);
      }),
      { numRuns: 20 },
    );
  });
});
