/**
 * `consume` is built on `workerPool`: the same promises about when a worker is free, when the
 * outcomes complete, and what a store failure does to running handlers.
 */
import { asyncScheduler, defer, finalize, map, NEVER, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type ConsumeOutcome, consumeQueue } from '../../src/queue/consume.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { QueueStore } from '../../src/queue/store.js';
import { ManualClock } from './manualClock.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function label<T>(outcome: ConsumeOutcome<T>): string {
  return `${outcome.status}:${String(outcome.message.payload)}`;
}

async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A store over a MessageQueue that is polled through `receive` (not pulled directly). */
function polledStore<T>(
  queue: MessageQueue<T>,
  overrides: Partial<QueueStore<T>> = {},
): QueueStore<T> {
  return {
    get visibilityTimeout() {
      return queue.visibilityTimeout;
    },
    get isClosed() {
      return queue.isClosed;
    },
    deadLettered: queue.deadLettered,
    enqueue: (payload, options) => queue.enqueue(payload, options),
    receive: (options) => queue.receive(options),
    ack: (receipt) => queue.ack(receipt),
    nack: (receipt, options) => queue.nack(receipt, options),
    extend: (receipt, ms) => queue.extend(receipt, ms),
    release: (receipt) => queue.release(receipt),
    stats: () => queue.stats(),
    deadLetters: () => queue.deadLetters(),
    redrive: (ids) => queue.redrive(ids),
    close: (options) => queue.close(options),
    ...overrides,
  };
}

describe('consume: teardown order', () => {
  it("a worker takes the next delivery only after the handler's subscription is finalized, and the outcomes complete last", () => {
    const log: string[] = [];
    testScheduler().run(() => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      queue.enqueue('a');
      queue.enqueue('b');
      queue
        .consume(
          (message) =>
            defer(() => {
              log.push(`init ${message.payload}`);
              return timer(2);
            }).pipe(finalize(() => log.push(`finalized ${message.payload}`))),
          { concurrency: 1 },
        )
        .subscribe({
          next: (outcome) => log.push(label(outcome)),
          complete: () => log.push('done'),
        });
      asyncScheduler.schedule(() => void queue.close(), 10);
    });
    expect(log).toEqual([
      'init a',
      'finalized a',
      'acked:a',
      'init b',
      'finalized b',
      'acked:b',
      'done',
    ]);
  });

  it('marbles: each handler is subscribed in the frame the previous one is unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100, maxAttempts: 1 });
      for (const p of ['a', 'b', 'c']) queue.enqueue(p);
      const handlers: Record<string, ReturnType<typeof cold>> = {
        a: cold('--|'),
        b: cold('---#'),
        c: cold('-|'),
      };
      const outcomes = queue
        .consume((message) => handlers[message.payload]!, { concurrency: 1 })
        .pipe(map(label));
      asyncScheduler.schedule(() => void queue.close(), 10);
      expectObservable(outcomes).toBe('--a--bc---|', { a: 'acked:a', b: 'nacked:b', c: 'acked:c' });
      expectSubscriptions(handlers.a!.subscriptions).toBe('^-!');
      expectSubscriptions(handlers.b!.subscriptions).toBe('--^--!');
      expectSubscriptions(handlers.c!.subscriptions).toBe('-----^!');
    });
  });
});

describe('consume: a message enqueued from inside a handler', () => {
  it('is taken at once by a free worker', () => {
    const starts: string[] = [];
    const scheduler = testScheduler();
    scheduler.run(() => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      queue.enqueue('a');
      queue
        .consume(
          (message) => {
            starts.push(`${message.payload}@${scheduler.now()}`);
            if (message.payload === 'a') queue.enqueue('b');
            return timer(3);
          },
          { concurrency: 2 },
        )
        .subscribe();
      asyncScheduler.schedule(() => void queue.close(), 5);
    });
    expect(starts).toEqual(['a@0', 'b@0']);
  });
});

describe('consume: store failures', () => {
  it('a store failure cuts off running handlers and releases their deliveries; no further delivery is handled', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock, visibilityTimeout: 1_000 });
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    const handled: string[] = [];
    const aborted: string[] = [];
    const store = polledStore(queue, {
      ack: () => Promise.reject(new Error('connection lost')),
    });
    let failure: unknown;
    consumeQueue(
      store,
      (message, { signal }) => {
        handled.push(message.payload);
        signal.addEventListener('abort', () => aborted.push(message.payload));
        // a finishes at once (its ack then fails), b never finishes
        return message.payload === 'a' ? undefined : NEVER;
      },
      { concurrency: 2, scheduler: clock },
    ).subscribe({ error: (e: unknown) => (failure = e) });
    await flushPromises();
    expect((failure as Error).message).toBe('connection lost');
    expect(handled).toEqual(['a', 'b']);
    expect(aborted).toContain('b');
    await flushPromises();
    // b was released uncounted; c was never leased
    expect(queue.stats()).toMatchObject({ inFlight: 1, visible: 2 });
    clock.advance(1_000);
    expect(handled).toEqual(['a', 'b']);
  });
});

describe('consume: a failing receive', () => {
  it('lets the handlers already running finish and settle, then errors; nothing more is leased', async () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock, visibilityTimeout: 1_000 });
    queue.enqueue('a');
    let receives = 0;
    const store = polledStore(queue, {
      receive: (options) => {
        receives++;
        if (receives > 1) throw new Error('no route to host');
        return queue.receive(options);
      },
    });
    const log: string[] = [];
    let finishA!: () => void;
    consumeQueue(
      store,
      (message) =>
        new Promise<void>((resolve) => {
          log.push(`handling ${message.payload}`);
          finishA = resolve;
        }),
      { concurrency: 2, scheduler: clock },
    ).subscribe({
      next: (outcome) => log.push(label(outcome)),
      error: (e: unknown) => log.push(`error: ${(e as Error).message}`),
    });
    await flushPromises();
    expect(log).toEqual(['handling a']); // the second receive failed; a still runs
    finishA();
    await flushPromises();
    expect(log).toEqual(['handling a', 'acked:a', 'error: no route to host']);
    expect(queue.stats()).toMatchObject({ acked: 1, inFlight: 0 });
  });
});

describe('consume: concurrency', () => {
  for (const concurrency of [Number.POSITIVE_INFINITY, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    it(`concurrency ${concurrency} leases everything there is, at a cost independent of the limit`, () => {
      const clock = new ManualClock();
      const queue = new MessageQueue<number>({ scheduler: clock, capacity: 5_000 });
      for (let i = 0; i < 3_000; i++) queue.enqueue(i);
      const ids = new Set<number>();
      const sub = queue
        .consume(
          (_message, { workerId }) => {
            ids.add(workerId);
            return NEVER;
          },
          { concurrency },
        )
        .subscribe();
      expect(queue.stats()).toMatchObject({ inFlight: 3_000, visible: 0 });
      expect(Math.max(...ids)).toBe(2_999);
      sub.unsubscribe();
      expect(queue.stats()).toMatchObject({ inFlight: 0, visible: 3_000 });
    });
  }

  it('refuses a concurrency that is not a whole number >= 1 or Infinity', () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock() });
    for (const bad of [0, 1.5, -1, Number.NaN]) {
      expect(() => queue.consume(() => undefined, { concurrency: bad })).toThrow(
        `consumeQueue: concurrency must be a whole number >= 1 or Infinity, got ${bad}`,
      );
    }
  });
});
