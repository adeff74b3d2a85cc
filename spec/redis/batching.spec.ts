/**
 * The batched paths of `RedisQueue`: calls made in one turn share one script call and still
 * answer one by one, and `consume` pulls deliveries sized by its free workers (never more
 * than `concurrency` leased). Script calls are counted through the server's command
 * statistics; conditions that only Redis can show are polled with a bounded deadline, and no
 * duration is asserted.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { closeAfterEach, describeRedis, useRedisServer, waitFor } from './redisServer.js';

describeRedis('RedisQueue batching', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open<T = string>(options: Partial<RedisQueueOptions<T>> = {}) {
    const connection = redis.connect();
    const queue = new RedisQueue<T>({ connection, name: `batch${++count}`, ...options });
    opened.push(queue);
    return { connection, queue };
  }

  /**
   * Script calls the server ran since the last call. A first EVALSHA of a script the server
   * does not know yet fails and is followed by an EVAL: only the call that ran is counted.
   */
  async function scriptsSince(connection: ReturnType<typeof redis.connect>): Promise<number> {
    const info = String(await connection.call('INFO', ['commandstats']));
    await connection.call('CONFIG', ['RESETSTAT']);
    let calls = 0;
    for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),.*failed_calls=(\d+)/g)) {
      calls += Number(m[1]) - Number(m[2]);
    }
    return calls;
  }

  it('enqueues of one turn are one script call, answered one by one in call order', async () => {
    const dropped: string[] = [];
    const { connection, queue } = open({
      capacity: 3,
      overflow: 'drop',
      onOverflow: (value) => dropped.push(value),
    });
    await queue.stats();
    await scriptsSince(connection);
    const results = await Promise.all([
      queue.enqueue('a', { id: 'x' }),
      queue.enqueue('b', { id: 'x' }), // a duplicate of the call before it, in the same batch
      queue.enqueue('c'),
      queue.enqueue('d'),
      queue.enqueue('e'), // the capacity was used up by the calls before it
    ]);
    expect(await scriptsSince(connection)).toBe(1);
    expect(results).toEqual([
      { ok: true, id: 'x' },
      { ok: false, reason: 'duplicate', id: 'x' },
      { ok: true, id: '#2' },
      { ok: true, id: '#3' },
      { ok: false, reason: 'dropped', id: undefined },
    ]);
    expect(dropped).toEqual(['e']);
    expect(await queue.stats()).toMatchObject({
      visible: 3,
      enqueued: 3,
      duplicates: 1,
      dropped: 1,
    });
  });

  it('acks of one turn are one script call; each receipt is checked alone', async () => {
    const { connection, queue } = open();
    await Promise.all(['a', 'b', 'c'].map((p) => queue.enqueue(p)));
    const deliveries = await queue.receive({ max: 3 });
    expect(deliveries).toHaveLength(3);
    await scriptsSince(connection);
    const answers = await Promise.all([
      queue.ack(deliveries[0]!.receipt),
      queue.ack(deliveries[1]!.receipt),
      queue.ack(deliveries[1]!.receipt), // the same receipt again, in the same batch
      queue.ack(`${deliveries[2]!.receipt}x`), // a receipt naming no delivery
      queue.ack(deliveries[2]!.receipt),
    ]);
    expect(await scriptsSince(connection)).toBe(1);
    expect(answers).toEqual([
      { ok: true },
      { ok: true },
      { ok: false, reason: 'acked' },
      { ok: false, reason: 'unknown' },
      { ok: true },
    ]);
    expect(await queue.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 3 });
  });

  it('consume leases no more than its free workers, in batches, and settles every message once', async () => {
    const { connection, queue } = open<number>({ capacity: 1_000 });
    await Promise.all(Array.from({ length: 64 }, (_, n) => queue.enqueue(n)));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    let most = 0;
    const drain = new AbortController();
    await scriptsSince(connection);
    const outcomes = lastValueFrom(
      queue
        .consume(
          async () => {
            running++;
            most = Math.max(most, running);
            await gate;
            running--;
          },
          { concurrency: 16, drain: drain.signal },
        )
        .pipe(toArray()),
    );
    await waitFor(() => running === 16, { what: '16 handlers to run' });
    // leased for the 16 busy workers only: the other 48 stay visible to other consumers
    expect(await queue.stats()).toMatchObject({ inFlight: 16, visible: 48 });
    release();
    await waitFor(async () => (await queue.stats()).acked === 64, { what: 'every ack' });
    drain.abort();
    const done = await outcomes;
    expect(done.map((o) => o.status)).toEqual(Array(64).fill('acked'));
    expect(new Set(done.map((o) => o.message.payload)).size).toBe(64);
    expect(most).toBe(16);
    // one receive and one ack script per message would be 128 (the stats polls add a few)
    expect(await scriptsSince(connection)).toBeLessThan(64);
  });

  it('unsubscribing consume releases what it leased; close() ends it after the running handlers', async () => {
    const { queue } = open<number>();
    await Promise.all(Array.from({ length: 8 }, (_, n) => queue.enqueue(n)));
    let started = 0;
    const subscription = queue
      .consume(
        () =>
          new Promise<void>(() => {
            started++;
          }),
        { concurrency: 4 },
      )
      .subscribe();
    await waitFor(() => started === 4, { what: '4 handlers to start' });
    subscription.unsubscribe();
    await waitFor(async () => (await queue.stats()).inFlight === 0, { what: 'the releases' });
    expect(await queue.stats()).toMatchObject({ visible: 8, released: 4, acked: 0 });

    const seen: number[] = [];
    const outcomes = lastValueFrom(
      queue.consume((m) => void seen.push(m.payload), { concurrency: 4 }).pipe(toArray()),
    );
    await waitFor(async () => (await queue.stats()).acked === 8, { what: 'every ack' });
    await queue.close();
    expect((await outcomes).length).toBe(8);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
