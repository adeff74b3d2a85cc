import {
  asyncScheduler,
  map,
  NEVER,
  type Observable,
  take,
  takeUntil,
  tap,
  throwError,
  timer,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { HandlerTimeoutError } from '../../src/errors/handlerTimeoutError.js';
import { type ConsumeOutcome, consumeQueue } from '../../src/queue/consume.js';
import type { MessageHandler } from '../../src/queue/consumeTypes.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { QueueStore } from '../../src/queue/store.js';
import type { Delivery, MessageQueueOptions } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** `status:payload:attempt`, so marbles can name outcomes. */
function label<T>(outcome: ConsumeOutcome<T>): string {
  const extra =
    outcome.status === 'lost'
      ? `:${outcome.reason}`
      : outcome.status === 'nacked' && outcome.deadLettered
        ? ':dead'
        : '';
  return `${outcome.status}:${String(outcome.message.payload)}:${outcome.message.attempt}${extra}`;
}

function labels<T>(source: Observable<ConsumeOutcome<T>>): Observable<string> {
  return source.pipe(map(label));
}

async function flushPromises(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Every store call answers a microtask later, like a store across a network. */
function asyncStore<T>(queue: MessageQueue<T>, calls: string[] = []): QueueStore<T> {
  const later = <R>(name: string, f: () => R): Promise<R> => {
    calls.push(name);
    return Promise.resolve().then(f);
  };
  return {
    get visibilityTimeout() {
      return queue.visibilityTimeout;
    },
    get isClosed() {
      return queue.isClosed;
    },
    deadLettered: queue.deadLettered,
    enqueue: (payload, options) => later('enqueue', () => queue.enqueue(payload, options)),
    receive: (options) => {
      calls.push('receive');
      return queue.receive(options);
    },
    ack: (receipt) => later('ack', () => queue.ack(receipt)),
    nack: (receipt, options) => later('nack', () => queue.nack(receipt, options)),
    extend: (receipt, ms) => later('extend', () => queue.extend(receipt, ms)),
    release: (receipt) => later('release', () => queue.release(receipt)),
    stats: () => later('stats', () => queue.stats()),
    deadLetters: () => later('deadLetters', () => queue.deadLetters()),
    redrive: (ids) => later('redrive', () => queue.redrive(ids)),
    close: (options) => queue.close(options),
  };
}

describe('consume: marble tests', () => {
  it('acks on success, nacks on error, at most `concurrency` at once, completes on close', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      for (const p of ['a', 'b', 'c']) queue.enqueue(p);
      const a = cold('---|');
      const b1 = cold('----#');
      const b2 = cold('-|');
      const c = cold('---|');
      const peak = { inFlight: 0 };
      const outcomes = queue.consume(
        (message) => {
          peak.inFlight = Math.max(peak.inFlight, queue.stats().inFlight);
          if (message.payload === 'a') return a;
          if (message.payload === 'b') return message.attempt === 1 ? b1 : b2;
          return c;
        },
        { concurrency: 2 },
      );
      asyncScheduler.schedule(() => void queue.close(), 10);
      expectObservable(labels(outcomes)).toBe('---wxyz---|', {
        w: 'acked:a:1',
        x: 'nacked:b:1',
        y: 'acked:b:2',
        z: 'acked:c:1',
      });
      // a worker freed by a (at 3) takes c; the one freed by b's failure (at 4) takes b again
      expectSubscriptions(a.subscriptions).toBe('^--!');
      expectSubscriptions(b1.subscriptions).toBe('^---!');
      expectSubscriptions(c.subscriptions).toBe('---^--!');
      expectSubscriptions(b2.subscriptions).toBe('----^!');
      expect(peak.inFlight).toBeLessThanOrEqual(2);
    });
  });

  it('with an empty queue emits nothing until close, then completes', () => {
    testScheduler().run(({ expectObservable }) => {
      const queue = new MessageQueue<string>();
      asyncScheduler.schedule(() => void queue.close(), 5);
      expectObservable(labels(queue.consume(() => NEVER))).toBe('-----|');
    });
  });

  it('a handler that never finishes holds its worker; unsubscribing releases the lease uncounted', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 1_000 });
      queue.enqueue('a');
      queue.enqueue('b');
      const aborted: string[] = [];
      const outcomes = queue.consume(
        (message, { signal }) => {
          signal.addEventListener('abort', () => aborted.push(message.payload));
          return NEVER;
        },
        { concurrency: 2 },
      );
      expectObservable(labels(outcomes), '^----!').toBe('------');
      flush();
      expect(aborted.sort()).toEqual(['a', 'b']);
      expect(queue.stats()).toMatchObject({ inFlight: 0, visible: 2, released: 2 });
      // the released messages were not counted as attempts
      expect(queue.dequeue()?.attempt).toBe(1);
    });
  });

  it('a synchronous firehose stopped by take(n) leaves the rest in the queue', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const queue = new MessageQueue<number>({ capacity: 1_000 });
      for (let i = 0; i < 1_000; i++) queue.enqueue(i);
      const outcomes = queue.consume(() => undefined).pipe(take(3));
      expectObservable(outcomes.pipe(map(label))).toBe('(abc|)', {
        a: 'acked:0:1',
        b: 'acked:1:1',
        c: 'acked:2:1',
      });
      flush();
      // the fourth delivery may have been leased before take(3) unsubscribed: it is released
      expect(queue.stats()).toMatchObject({ acked: 3, inFlight: 0, visible: 997 });
    });
  });

  /**
   * Runs one message whose handler never finishes, with a 50 ms timeout, to its dead letter;
   * returns the queue and the outcome's error.
   */
  function timedOut(handler: MessageHandler<string>) {
    let error: unknown;
    const queue = new MessageQueue<string>({ visibilityTimeout: 1_000, maxAttempts: 1 });
    testScheduler().run(({ expectObservable, flush }) => {
      queue.enqueue('stuck');
      const outcomes = queue.consume(handler, { timeout: 50 }).pipe(
        tap((o) => {
          if (o.status === 'nacked') error = o.error;
        }),
      );
      expectObservable(labels(outcomes), `^${'-'.repeat(60)}!`).toBe(`${'-'.repeat(50)}a`, {
        a: 'nacked:stuck:1:dead',
      });
      flush();
    });
    return { queue, error };
  }

  it('timeout: the handler is aborted and the message nacked with a HandlerTimeoutError', () => {
    let reason: unknown;
    const { queue, error } = timedOut((_message, { signal }) => {
      signal.addEventListener('abort', () => (reason = signal.reason));
      return NEVER;
    });
    expect(error).toBeInstanceOf(HandlerTimeoutError);
    expect(error).toMatchObject({ name: 'HandlerTimeoutError', timeout: 50 });
    expect((error as Error).message).toBe(
      'consumeQueue: the handler for message "' +
        (queue.deadLetters()[0]?.id ?? '') +
        '" did not finish within its timeout of 50 ms',
    );
    expect(reason).toBe(error);
    expect(queue.deadLetters()[0]?.lastError).toBe(error);
  });

  it("a signal first read after the stop is already aborted, with the stop's reason", () => {
    let context: { readonly signal: AbortSignal; readonly workerId: number } | undefined;
    const { error } = timedOut((_message, ctx) => {
      context = ctx; // the handler does not read its signal while it runs
      return NEVER;
    });
    expect(error).toBeInstanceOf(HandlerTimeoutError);
    expect(context?.workerId).toBe(0);
    const signal = context!.signal;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(error);
    expect(context!.signal).toBe(signal);
  });

  it('the handler context spreads like a plain object: signal and workerId are its own', () => {
    const queue = new MessageQueue<string>();
    queue.enqueue('a');
    let copy: { signal?: unknown; workerId?: unknown } = {};
    queue
      .consume((_message, ctx) => {
        copy = { ...ctx };
      })
      .pipe(take(1))
      .subscribe();
    expect(copy.signal).toBeInstanceOf(AbortSignal);
    expect(copy.workerId).toBe(0);
    // and nothing else: no internals of the consumer come along
    expect(Reflect.ownKeys(copy)).toEqual(['signal', 'workerId']);
  });

  it('keepAlive keeps a long handler lease; without it the lease is lost to a redelivery', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const kept = new MessageQueue<string>({ visibilityTimeout: 100 });
      kept.enqueue('long');
      const stolen: Array<Delivery<string> | undefined> = [];
      asyncScheduler.schedule(() => stolen.push(kept.dequeue()), 250);
      expectObservable(
        labels(kept.consume(() => cold(`${'-'.repeat(350)}|`), { keepAlive: true })).pipe(take(1)),
      ).toBe(`${'-'.repeat(350)}(a|)`, { a: 'acked:long:1' });
      flush();
      expect(stolen).toEqual([undefined]);
      expect(kept.stats()).toMatchObject({ expired: 0, acked: 1 });
    });
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      // without keepAlive the lease's end stops the handler (unsubscribed at 100) and reports it
      const lost = new MessageQueue<string>({ visibilityTimeout: 100 });
      lost.enqueue('long');
      const handler = cold(`${'-'.repeat(350)}|`);
      expectObservable(labels(lost.consume(() => handler)).pipe(take(1))).toBe(
        `${'-'.repeat(100)}(a|)`,
        { a: 'lost:long:1:expired' },
      );
      expectSubscriptions(handler.subscriptions).toBe(`^${'-'.repeat(99)}!`);
    });
  });

  it('under the defaults a handler that never settles is aborted at its lease end, its worker serves the rest, and after maxAttempts it is dead-lettered as expired', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100, maxAttempts: 2 });
      for (const payload of ['hang', 'a', 'b']) queue.enqueue(payload);
      const reasons: unknown[] = [];
      const outcomes = queue.consume((message, { signal }) => {
        if (message.payload !== 'hang') return cold('-----|');
        signal.addEventListener('abort', () => reasons.push(signal.reason));
        return NEVER;
      });
      // hang#1 lost at 100; a at 105, b at 110; hang#2 (redelivered behind them) lost at 210
      expectObservable(labels(outcomes).pipe(take(4))).toBe(
        `${'-'.repeat(100)}a 4ms b 4ms c ${'-'.repeat(99)}(d|)`,
        {
          a: 'lost:hang:1:expired',
          b: 'acked:a:1',
          c: 'acked:b:1',
          d: 'lost:hang:2:expired',
        },
      );
      flush();
      expect(queue.deadLetters()).toMatchObject([
        { payload: 'hang', reason: 'expired', attempts: 2 },
      ]);
      expect(reasons).toHaveLength(2);
      expect(String(reasons[0])).toContain('lease on message');
      expect(queue.stats()).toMatchObject({ acked: 2, deadLettered: 1, inFlight: 0, visible: 0 });
    });
  });

  it('with keepAlive a handler that never settles times out after 10 leases by default, and is dead-lettered with the HandlerTimeoutError after maxAttempts', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100, maxAttempts: 2 });
      queue.enqueue('hang');
      const outcomes = queue.consume(() => NEVER, { keepAlive: true });
      // (the timer ends the run should the handler never time out)
      expectObservable(labels(outcomes).pipe(take(2), takeUntil(timer(5000)))).toBe(
        `${'-'.repeat(1000)}a ${'-'.repeat(999)}(b|)`,
        { a: 'nacked:hang:1', b: 'nacked:hang:2:dead' },
      );
      flush();
      const [letter] = queue.deadLetters();
      expect(letter).toMatchObject({ payload: 'hang', reason: 'nacked', attempts: 2 });
      expect(letter?.lastError).toBeInstanceOf(HandlerTimeoutError);
      expect(letter?.lastError).toMatchObject({ timeout: 1000, messageId: letter?.id });
    });
  });

  it('with keepAlive an explicit timeout replaces the default one (Infinity: none)', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      queue.enqueue('slow');
      const handler = cold(`${'-'.repeat(3000)}|`);
      expectObservable(
        labels(
          queue.consume(() => handler, { keepAlive: true, timeout: Number.POSITIVE_INFINITY }),
        ).pipe(take(1)),
      ).toBe(`${'-'.repeat(3000)}(a|)`, { a: 'acked:slow:1' });
    });
  });

  it('keepAlive: a lease lost meanwhile aborts the handler and reports it', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      queue.enqueue('x');
      let receipt = '';
      let aborted = false;
      const outcomes = queue.consume(
        (message, { signal }) => {
          receipt = message.receipt;
          signal.addEventListener('abort', () => (aborted = true));
          return NEVER;
        },
        { keepAlive: true },
      );
      // someone else acknowledges the delivery at frame 60; the next heartbeat (100) finds out
      asyncScheduler.schedule(() => queue.ack(receipt), 60);
      expectObservable(labels(outcomes).pipe(take(1))).toBe(`${'-'.repeat(100)}(a|)`, {
        a: 'lost:x:1:acked',
      });
      flush();
      expect(aborted).toBe(true);
    });
  });

  it('aborting drain drains: no new deliveries, running handlers finish, then it completes', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      for (const p of ['a', 'b', 'c', 'd']) queue.enqueue(p);
      const drain = new AbortController();
      asyncScheduler.schedule(() => drain.abort(), 5);
      const outcomes = queue.consume(() => cold('----------|'), {
        concurrency: 2,
        drain: drain.signal,
      });
      expectObservable(labels(outcomes)).toBe('----------(ab|)', {
        a: 'acked:a:1',
        b: 'acked:b:1',
      });
      flush();
      expect(queue.stats()).toMatchObject({ visible: 2, inFlight: 0, acked: 2 });
    });
  });

  it('close drains consumers the same way, and resolves once they settled', () => {
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      for (const p of ['a', 'b', 'c']) queue.enqueue(p);
      let closed: unknown;
      asyncScheduler.schedule(() => {
        void queue.close({ grace: 50 }).then((r) => (closed = r));
      }, 5);
      expectObservable(labels(queue.consume(() => cold('----------|')))).toBe('----------(a|)', {
        a: 'acked:a:1',
      });
      flush();
      expect(queue.stats()).toMatchObject({ visible: 2, inFlight: 0, acked: 1, released: 0 });
      return Promise.resolve().then(() => expect(closed).toEqual({ released: 0 }));
    });
  });

  it('a poison message through consume: nacked until dead-lettered', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 3 });
      queue.enqueue('poison');
      asyncScheduler.schedule(() => void queue.close(), 10);
      expectObservable(labels(queue.consume(() => cold('-#')))).toBe('-abc------|', {
        a: 'nacked:poison:1',
        b: 'nacked:poison:2',
        c: 'nacked:poison:3:dead',
      });
    });
  });

  it('backoff as a function delays the nack', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 2 });
      queue.enqueue('flaky');
      const outcomes = queue.consume((message) => (message.attempt === 1 ? cold('#') : cold('|')), {
        backoff: (message) => 10 * message.attempt,
      });
      expectObservable(labels(outcomes).pipe(take(2))).toBe('a---------(b|)', {
        a: 'nacked:flaky:1',
        b: 'acked:flaky:2',
      });
    });
  });

  it('backoff as a number is a constant delay', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 3 });
      queue.enqueue('flaky');
      const outcomes = queue.consume((message) => (message.attempt < 3 ? cold('#') : cold('|')), {
        backoff: 5,
      });
      expectObservable(labels(outcomes).pipe(take(3))).toBe('a----b----(c|)', {
        a: 'nacked:flaky:1',
        b: 'nacked:flaky:2',
        c: 'acked:flaky:3',
      });
    });
  });

  it('backoff as a Backoff grows with the delivery attempt, up to max', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 4 });
      queue.enqueue('flaky');
      const outcomes = queue.consume((message) => (message.attempt < 4 ? cold('#') : cold('|')), {
        backoff: { initial: 2, factor: 3, max: 10 },
      });
      // delays after attempts 1, 2, 3: 2, 6, then 18 capped at 10
      expectObservable(labels(outcomes).pipe(take(4))).toBe(
        `a-b${'-'.repeat(5)}c${'-'.repeat(9)}(d|)`,
        { a: 'nacked:flaky:1', b: 'nacked:flaky:2', c: 'nacked:flaky:3', d: 'acked:flaky:4' },
      );
    });
  });
});

describe('consume: deprecated aliases', () => {
  it('signal still drains, as drain does', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      for (const p of ['a', 'b', 'c']) queue.enqueue(p);
      const drain = new AbortController();
      asyncScheduler.schedule(() => drain.abort(), 5);
      const outcomes = queue.consume(() => cold('----------|'), { signal: drain.signal });
      expectObservable(labels(outcomes)).toBe('----------(a|)', { a: 'acked:a:1' });
    });
  });

  it('retryDelay still delays the nack, as backoff does', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 2 });
      queue.enqueue('flaky');
      const outcomes = queue.consume((message) => (message.attempt === 1 ? cold('#') : cold('|')), {
        retryDelay: 10,
      });
      expectObservable(labels(outcomes).pipe(take(2))).toBe('a---------(b|)', {
        a: 'nacked:flaky:1',
        b: 'acked:flaky:2',
      });
    });
  });

  it('an option and its alias together are refused, naming both', () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock() });
    const { signal } = new AbortController();
    expect(() => queue.consume(() => undefined, { drain: signal, signal })).toThrow(
      new TypeError(
        'consumeQueue: drain and signal (its deprecated alias) are the same option, pass only drain, got both',
      ),
    );
    expect(() => queue.consume(() => undefined, { backoff: 1, retryDelay: 1 })).toThrow(
      new TypeError(
        'consumeQueue: backoff and retryDelay (its deprecated alias) are the same option, pass only backoff, got both',
      ),
    );
  });
});

describe('consume: handlers', () => {
  async function outcomeOf(
    handler: (m: Delivery<string>) => unknown,
  ): Promise<ConsumeOutcome<string>> {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock(), maxAttempts: 1 });
    queue.enqueue('m');
    const seen: ConsumeOutcome<string>[] = [];
    const sub = queue.consume(handler as never).subscribe((o) => seen.push(o));
    await flushPromises();
    sub.unsubscribe();
    await queue.close();
    expect(seen).toHaveLength(1);
    return seen[0]!;
  }

  it('success: undefined, a resolved promise, a completed observable', async () => {
    expect((await outcomeOf(() => undefined)).status).toBe('acked');
    expect((await outcomeOf(async () => 'ignored value')).status).toBe('acked');
    expect((await outcomeOf(() => [1, 2, 3])).status).toBe('acked');
  });

  it('failure: a throw, a rejection, an errored observable, something not observable', async () => {
    const boom = new Error('boom');
    for (const handler of [
      () => {
        throw boom;
      },
      () => Promise.reject(boom),
      () => throwError(() => boom),
    ]) {
      const outcome = await outcomeOf(handler);
      expect(outcome).toMatchObject({ status: 'nacked', error: boom, deadLettered: true });
    }
    const odd = await outcomeOf(() => 42);
    expect(odd).toMatchObject({ status: 'nacked' });
    expect((odd as { error: unknown }).error).toBeInstanceOf(TypeError);
  });
});

describe('consume: with an asynchronous store', () => {
  function setup(options: MessageQueueOptions<string> = {}) {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({
      scheduler: clock,
      visibilityTimeout: 1_000,
      ...options,
    });
    const calls: string[] = [];
    return { clock, queue, calls, store: asyncStore(queue, calls) };
  }

  it('processes everything, acks through promises, and drains on abort', async () => {
    const { clock, queue, calls, store } = setup();
    for (let i = 0; i < 5; i++) queue.enqueue(`m${i}`);
    const drain = new AbortController();
    const seen: string[] = [];
    let completed = false;
    consumeQueue(store, async () => {}, {
      concurrency: 2,
      drain: drain.signal,
      scheduler: clock,
    }).subscribe({
      next: (o) => {
        seen.push(label(o));
        if (seen.length === 5) drain.abort();
      },
      complete: () => (completed = true),
    });
    await flushPromises();
    expect(seen.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'].map((p) => `acked:${p}:1`));
    expect(completed).toBe(true);
    expect(calls).toContain('ack');
    expect(queue.stats()).toMatchObject({ acked: 5, inFlight: 0, visible: 0 });
    expect(clock.pending).toBe(0); // the aborted long poll left no timer
  });

  it('never holds more than `concurrency` leases', async () => {
    const { clock, queue, store } = setup();
    for (let i = 0; i < 10; i++) queue.enqueue(`m${i}`);
    const gates: Array<() => void> = [];
    const sub = consumeQueue(store, () => new Promise<void>((resolve) => gates.push(resolve)), {
      concurrency: 3,
      scheduler: clock,
    }).subscribe();
    await flushPromises();
    expect(queue.stats().inFlight).toBe(3);
    gates.shift()!();
    await flushPromises();
    expect(queue.stats()).toMatchObject({ inFlight: 3, acked: 1 });
    sub.unsubscribe();
    await flushPromises();
    expect(queue.stats()).toMatchObject({ inFlight: 0, released: 3, visible: 9 });
  });

  it('completes when the store closes', async () => {
    const { clock, queue, store } = setup();
    let completed = false;
    consumeQueue(store, () => undefined, { scheduler: clock }).subscribe({
      complete: () => (completed = true),
    });
    await flushPromises();
    await queue.close();
    await flushPromises();
    expect(completed).toBe(true);
  });

  it('keeps polling after an empty answer, pausing through the scheduler', async () => {
    const { clock, queue, calls, store } = setup();
    const seen: string[] = [];
    const sub = consumeQueue(store, () => undefined, { scheduler: clock, pollWait: 500 }).subscribe(
      (o) => seen.push(label(o)),
    );
    await flushPromises();
    expect(calls.filter((c) => c === 'receive')).toHaveLength(1);
    clock.advance(500); // the long poll times out empty
    await flushPromises();
    expect(calls.filter((c) => c === 'receive')).toHaveLength(1);
    clock.advance(0); // it waited its full time: the next poll follows at once (a 0 ms timer)
    expect(calls.filter((c) => c === 'receive')).toHaveLength(2);
    queue.enqueue('late');
    await flushPromises();
    expect(seen).toEqual(['acked:late:1']);
    sub.unsubscribe();
  });

  it('releases deliveries that arrive after the consumer stopped', async () => {
    const { clock, queue, store } = setup();
    // a store that ignores the abort signal of its long poll
    const deaf: QueueStore<string> = {
      ...store,
      get isClosed() {
        return queue.isClosed;
      },
      visibilityTimeout: queue.visibilityTimeout,
      receive: (options) => queue.receive({ ...options, signal: undefined }),
    };
    const drain = new AbortController();
    let completed = false;
    consumeQueue(deaf, () => undefined, { scheduler: clock, drain: drain.signal }).subscribe({
      complete: () => (completed = true),
    });
    await flushPromises();
    drain.abort();
    await flushPromises();
    expect(completed).toBe(true);
    queue.enqueue('arrives too late');
    await flushPromises();
    expect(queue.stats()).toMatchObject({ inFlight: 0, visible: 1, released: 1, acked: 0 });
  });

  it('a synchronous store that is not the in-memory queue is polled without deep recursion', () => {
    const clock = new ManualClock();
    const queue = new MessageQueue<number>({ scheduler: clock, capacity: 20_000 });
    // every call answers synchronously; receive through dequeue, so nothing is pullable
    const syncStore: QueueStore<number> = {
      visibilityTimeout: queue.visibilityTimeout,
      get isClosed() {
        return queue.isClosed;
      },
      deadLettered: queue.deadLettered,
      enqueue: (payload, options) => queue.enqueue(payload, options),
      receive: (options) => {
        const batch: Delivery<number>[] = [];
        for (let d = queue.dequeue(); d !== undefined; d = queue.dequeue()) {
          batch.push(d);
          if (batch.length >= (options?.max ?? 1)) break;
        }
        return batch;
      },
      ack: (r) => queue.ack(r),
      nack: (r, o) => queue.nack(r, o),
      extend: (r, ms) => queue.extend(r, ms),
      release: (r) => queue.release(r),
      stats: () => queue.stats(),
      deadLetters: () => queue.deadLetters(),
      redrive: (ids) => queue.redrive(ids),
      close: (o) => queue.close(o),
    };
    for (let i = 0; i < 20_000; i++) queue.enqueue(i);
    let acked = 0;
    const sub = consumeQueue(syncStore, () => undefined, { scheduler: clock }).subscribe((o) => {
      if (o.status === 'acked') acked++;
    });
    expect(acked).toBe(20_000);
    sub.unsubscribe();
  });

  it('a store that answers empty at once is polled again after a pause, not in a loop', () => {
    const clock = new ManualClock();
    let polls = 0;
    const impatient = {
      visibilityTimeout: 1_000,
      isClosed: false,
      receive: () => {
        polls++;
        return [];
      },
      ack: () => ({ ok: true }),
    } as unknown as QueueStore<string>;
    const sub = consumeQueue(impatient, () => undefined, {
      scheduler: clock,
      pollWait: 20_000,
    }).subscribe();
    expect(polls).toBe(1);
    clock.advance(999);
    expect(polls).toBe(1);
    clock.advance(1);
    expect(polls).toBe(2);
    sub.unsubscribe();
    expect(clock.pending).toBe(0);
  });

  it('a failing store errors the outcome stream', async () => {
    const { clock, queue, store } = setup();
    queue.enqueue('x');
    const broken: QueueStore<string> = {
      ...store,
      get isClosed() {
        return queue.isClosed;
      },
      visibilityTimeout: queue.visibilityTimeout,
      receive: store.receive,
      ack: () => Promise.reject(new Error('connection lost')),
    };
    let failure: unknown;
    consumeQueue(broken, () => undefined, { scheduler: clock }).subscribe({
      error: (e) => (failure = e),
    });
    await flushPromises();
    expect((failure as Error).message).toBe('connection lost');
  });

  it('a store whose receive fails errors the outcome stream', async () => {
    const { clock, store } = setup();
    const broken: QueueStore<string> = {
      ...store,
      isClosed: false,
      visibilityTimeout: 1_000,
      receive: () => {
        throw new Error('no route to host');
      },
    };
    let failure: unknown;
    consumeQueue(broken, () => undefined, { scheduler: clock }).subscribe({
      error: (e) => (failure = e),
    });
    await flushPromises();
    expect((failure as Error).message).toBe('no route to host');
  });
});

describe('consume: validation', () => {
  it('rejects bad arguments, naming them', () => {
    const queue = new MessageQueue<string>({ scheduler: new ManualClock() });
    expect(() => consumeQueue(null as never, () => undefined)).toThrow(
      'consumeQueue: store must be a QueueStore, got null',
    );
    expect(() => consumeQueue(queue, 'nope' as never)).toThrow(
      'consumeQueue: handler must be a function',
    );
    expect(() => queue.consume(() => undefined, { concurrency: 0 })).toThrow(RangeError);
    expect(() => queue.consume(() => undefined, { timeout: -1 })).toThrow(RangeError);
    expect(() => queue.consume(() => undefined, { keepAlive: 1 as never })).toThrow(TypeError);
    expect(() => queue.consume(() => undefined, { retryDelay: -1 })).toThrow(RangeError);
    expect(() => queue.consume(() => undefined, { backoff: -1 })).toThrow(RangeError);
    expect(() => queue.consume(() => undefined, { backoff: 'x' as never })).toThrow(
      'consumeQueue: backoff must be a number of milliseconds, a Backoff or a function, got "x"',
    );
    expect(() => queue.consume(() => undefined, { backoff: { factor: 0.5 } })).toThrow(
      /consumeQueue: backoff\.factor/,
    );
    expect(() => queue.consume(() => undefined, { backoff: { intial: 5 } as never })).toThrow(
      /initial/,
    );
    expect(() => queue.consume(() => undefined, { signal: {} as never })).toThrow(TypeError);
    expect(() => queue.consume(() => undefined, { drain: {} as never })).toThrow(
      'consumeQueue: drain must be an AbortSignal',
    );
  });
});
