import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { config, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/index.js';
import type { QueueDeadLetter } from '../../src/queue/types.js';
import { ManualClock } from '../queue/manualClock.js';
import { flush } from '../support/promises.js';

function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = collector();
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

afterEach(() => {
  config.onUnhandledError = null;
});

describe('receipts cannot be forged', () => {
  it('an old receipt with its delivery number bumped is not the current one', () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ visibilityTimeout: 10, scheduler: clock });
    queue.enqueue('job');
    const first = queue.dequeue()!;
    clock.advance(10); // expires; redelivered as delivery 2
    const second = queue.dequeue()!;
    const [tag, n, secret] = first.receipt.split(':');
    expect(secret).toMatch(/^[A-Za-z0-9+/_-]{24}$/); // the queue's name and 96 random bits
    const forged = `${tag}:${Number(n) + 1}:${secret}`;
    expect(forged).not.toBe(second.receipt);
    expect(queue.ack(forged)).toEqual({ ok: false, reason: 'unknown' });
    expect(queue.ack(first.receipt)).toEqual({ ok: false, reason: 'stale' });
    expect(queue.ack(second.receipt)).toEqual({ ok: true });
  });
});

describe('redelivery never starves the event loop', () => {
  it('a handler that releases its own delivery gets it again only on the next scheduler turn', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock });
    queue.enqueue('boomerang');
    let runs = 0;
    const outcomes = lastValueFrom(
      queue
        .consume(async (message) => {
          runs++;
          queue.release(message.receipt);
        })
        .pipe(take(3), toArray()),
    );
    await flush(50);
    expect(runs).toBe(1); // not again within the same turn, however many microtasks pass
    for (let turn = 0; turn < 3; turn++) {
      clock.advance(0); // the next turn
      await flush(50);
    }
    expect(runs).toBeGreaterThanOrEqual(3);
    expect((await outcomes).map((o) => o.status)).toEqual(['lost', 'lost', 'lost']);
    await queue.close();
  });

  it('a nack without delay is also redelivered on the next turn; explicit pulls see it at once', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock });
    queue.enqueue('a');
    const a = queue.dequeue()!;
    queue.nack(a.receipt);
    expect(queue.stats().visible).toBe(1);
    expect(queue.dequeue()?.payload).toBe('a'); // dequeue does not wait for the turn
    await queue.close({ grace: 0 });
    expect(clock.pending).toBe(0);
  });
});

describe('a throwing callback in a timer stops nothing', () => {
  it('onEvict throwing while leases expire: reported, and every later expiry still happens', async () => {
    const clock = new ManualClock();
    const reported: unknown[] = [];
    config.onUnhandledError = (err) => reported.push(err);
    const evicted: string[] = [];
    const queue = new MessageQueue<string>({
      scheduler: clock,
      visibilityTimeout: 10,
      maxAttempts: 1,
      deadLetter: {
        capacity: 1,
        onEvict: (letter) => {
          evicted.push(letter.payload);
          throw new Error(`onEvict ${letter.payload}`);
        },
      },
    });
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    queue.dequeue();
    queue.dequeue();
    queue.dequeue();
    clock.advance(10); // three expiries in one timer: two evictions throw
    queue.enqueue('d');
    queue.dequeue();
    clock.advance(10); // a later expiry still runs
    await flush();
    expect(evicted).toEqual(['a', 'b', 'c']);
    expect(queue.deadLetters().map((l) => l.payload)).toEqual(['d']);
    expect(reported.map((e) => (e as Error).message)).toEqual([
      'onEvict a',
      'onEvict b',
      'onEvict c',
    ]);
    await queue.close();
  });

  it('a dead-letter observer throwing does not stop the expiry loop', async () => {
    const clock = new ManualClock();
    const reported: unknown[] = [];
    config.onUnhandledError = (err) => reported.push(err);
    const queue = new MessageQueue<string>({
      scheduler: clock,
      visibilityTimeout: 10,
      maxAttempts: 1,
    });
    const seen: QueueDeadLetter<string>[] = [];
    queue.deadLettered.subscribe((letter) => {
      seen.push(letter);
      throw new Error('observer');
    });
    for (const p of ['a', 'b']) queue.enqueue(p);
    queue.dequeue();
    queue.dequeue();
    clock.advance(10);
    expect(seen.map((l) => l.payload)).toEqual(['a', 'b']);
    expect(queue.stats()).toMatchObject({ inFlight: 0, dead: 2 });
    await queue.close();
    // RxJS reports an observer's error on a macrotask of its own: let it arrive.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reported).toHaveLength(2);
  });
});

describe('dead-letter eviction keeps the oldest-first order across redrives', () => {
  it('a redriven letter that dies again counts as the newest', () => {
    const clock = new ManualClock();
    const evicted: string[] = [];
    const queue = new MessageQueue<string>({
      scheduler: clock,
      maxAttempts: 1,
      deadLetter: { capacity: 2, onEvict: (l) => evicted.push(l.payload) },
    });
    const kill = () => {
      const d = queue.dequeue()!;
      queue.nack(d.receipt);
    };
    queue.enqueue('a');
    kill();
    queue.enqueue('b');
    kill();
    queue.redrive([queue.deadLetters()[0]!.id]); // 'a' back
    kill(); // 'a' dead again: now newer than 'b'
    queue.enqueue('c');
    kill(); // evicts the oldest: 'b'
    expect(evicted).toEqual(['b']);
    expect(queue.deadLetters().map((l) => l.payload)).toEqual(['a', 'c']);
  });
});

describe('memory comes back after a burst', () => {
  it('an idle queue holds almost nothing of a fully acknowledged 100k backlog', async () => {
    const queue = new MessageQueue<number>({ capacity: Number.POSITIVE_INFINITY });
    const before = heapAfterGc();
    for (let i = 0; i < 100_000; i++) queue.enqueue(i);
    for (let d = queue.dequeue(); d !== undefined; d = queue.dequeue()) queue.ack(d.receipt);
    const grown = heapAfterGc() - before;
    expect(queue.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 100_000 });
    expect(grown).toBeLessThan(1024 * 1024); // was ~300 B per message of the peak: ~30 MB
    await queue.close();
  });
});
