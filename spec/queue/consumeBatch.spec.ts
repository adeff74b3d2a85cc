import { BehaviorSubject, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumeOutcome } from '../../src/queue/consume.js';
import { consumeQueueBatch } from '../../src/queue/consumeQueueBatch.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { Delivery } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';

async function flushPromises(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const label = (o: ConsumeOutcome<string>) => `${o.message.payload}:${o.status}`;

describe('consumeQueueBatch / queue.consumeBatch', () => {
  let subscriptions: Subscription[] = [];
  afterEach(() => {
    for (const s of subscriptions) s.unsubscribe();
    subscriptions = [];
  });

  function setup(options: { maxAttempts?: number; visibilityTimeout?: number } = {}) {
    const clock = new ManualClock();
    const queue = new MessageQueue<string>({ scheduler: clock, maxAttempts: 1, ...options });
    const outcomes: string[] = [];
    const batches: string[][] = [];
    return { clock, queue, outcomes, batches };
  }

  it('hands size messages per call and settles each message on its own; context.fail nacks one', async () => {
    const { queue, outcomes, batches } = setup();
    for (const p of ['a', 'b', 'c', 'd', 'e']) queue.enqueue(p);
    subscriptions.push(
      queue
        .consumeBatch(
          async (messages, { fail }) => {
            batches.push(messages.map((m) => m.payload));
            for (const m of messages) if (m.payload === 'd') fail(m, new Error('bad d'));
          },
          { size: 2 },
        )
        .subscribe((o) => outcomes.push(label(o))),
    );
    await flushPromises();
    expect(batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(outcomes).toEqual(['a:acked', 'b:acked', 'c:acked', 'd:nacked']);
    expect(queue.deadLetters().map((d) => d.payload)).toEqual(['d']);
  });

  it('a partial batch runs time ms after its first message, not before', async () => {
    const { clock, queue, batches } = setup();
    subscriptions.push(
      queue
        .consumeBatch(
          (messages) => {
            batches.push(messages.map((m) => m.payload));
          },
          { size: 3, time: 50 },
        )
        .subscribe(),
    );
    queue.enqueue('a');
    await flushPromises();
    clock.advance(20);
    queue.enqueue('b');
    await flushPromises();
    clock.advance(29);
    await flushPromises();
    expect(batches).toEqual([]);
    clock.advance(1);
    await flushPromises();
    expect(batches).toEqual([['a', 'b']]);
  });

  it('a throwing handler nacks every message of its batch, and the consumer goes on', async () => {
    const { clock, queue, outcomes } = setup();
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    subscriptions.push(
      queue
        .consumeBatch(
          (messages) => {
            if (messages.some((m) => m.payload === 'a')) throw new Error('bulk insert failed');
          },
          { size: 2 },
        )
        .subscribe((o) => outcomes.push(label(o))),
    );
    await flushPromises();
    clock.advance(0);
    await flushPromises();
    expect(outcomes).toEqual(['a:nacked', 'b:nacked', 'c:acked']);
  });

  it('leases at most concurrency x size messages; the rest stay visible', async () => {
    const { queue } = setup();
    for (let i = 0; i < 20; i++) queue.enqueue(`m${i}`);
    const gates: Array<ReturnType<typeof deferred>> = [];
    subscriptions.push(
      queue
        .consumeBatch(
          () => {
            const gate = deferred();
            gates.push(gate);
            return gate.promise;
          },
          { size: 3, concurrency: 2 },
        )
        .subscribe(),
    );
    await flushPromises();
    expect(queue.stats().inFlight).toBe(6);
    expect(gates).toHaveLength(2);
    gates[0]?.resolve();
    await flushPromises();
    expect(queue.stats().acked).toBe(3);
    expect(queue.stats().inFlight).toBe(6);
    expect(gates).toHaveLength(3);
  });

  it('an Observable concurrency of 0 pauses: nothing new is leased until it rises', async () => {
    const { queue, batches } = setup();
    const limit = new BehaviorSubject(0);
    for (const p of ['a', 'b', 'c']) queue.enqueue(p);
    subscriptions.push(
      queue
        .consumeBatch((messages) => void batches.push(messages.map((m) => m.payload)), {
          size: 2,
          concurrency: limit,
        })
        .subscribe(),
    );
    await flushPromises();
    expect(queue.stats().inFlight).toBe(0);
    limit.next(1);
    await flushPromises();
    expect(batches[0]).toEqual(['a', 'b']);
  });

  it('a message whose timeout runs out while it waits for its batch leaves the batch, nacked with the timeout', async () => {
    const { clock, queue, outcomes, batches } = setup();
    subscriptions.push(
      queue
        .consumeBatch((messages) => void batches.push(messages.map((m) => m.payload)), {
          size: 2,
          time: 100,
          timeout: 30,
        })
        .subscribe((o) => outcomes.push(label(o))),
    );
    queue.enqueue('a');
    await flushPromises();
    clock.advance(30);
    await flushPromises();
    expect(outcomes).toEqual(['a:nacked']);
    clock.advance(100);
    await flushPromises();
    expect(batches).toEqual([]);
  });

  it('draining runs the partial batch, settles it, then completes', async () => {
    const { clock, queue, outcomes, batches } = setup();
    const drain = new AbortController();
    let completed = false;
    subscriptions.push(
      queue
        .consumeBatch((messages) => void batches.push(messages.map((m) => m.payload)), {
          size: 10,
          time: 40,
          drain: drain.signal,
        })
        .subscribe({ next: (o) => outcomes.push(label(o)), complete: () => (completed = true) }),
    );
    queue.enqueue('a');
    await flushPromises();
    drain.abort();
    await flushPromises();
    expect(completed).toBe(false);
    clock.advance(40);
    await flushPromises();
    expect(batches).toEqual([['a']]);
    expect(outcomes).toEqual(['a:acked']);
    expect(completed).toBe(true);
  });

  it('signal, the deprecated alias of drain, still drains', async () => {
    const { clock, queue, outcomes, batches } = setup();
    const drain = new AbortController();
    let completed = false;
    subscriptions.push(
      queue
        .consumeBatch((messages) => void batches.push(messages.map((m) => m.payload)), {
          size: 10,
          time: 40,
          signal: drain.signal,
        })
        .subscribe({ next: (o) => outcomes.push(label(o)), complete: () => (completed = true) }),
    );
    queue.enqueue('a');
    await flushPromises();
    drain.abort();
    clock.advance(40);
    await flushPromises();
    expect(batches).toEqual([['a']]);
    expect(outcomes).toEqual(['a:acked']);
    expect(completed).toBe(true);
  });

  it('unsubscribing aborts the running batch and releases its messages uncounted', async () => {
    const { queue } = setup({ maxAttempts: 2 });
    queue.enqueue('a');
    let signal: AbortSignal | undefined;
    const subscription = queue
      .consumeBatch(
        (_messages, context) => {
          signal = context.signal;
          return new Promise<void>(() => {});
        },
        { size: 1 },
      )
      .subscribe();
    await flushPromises();
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    await flushPromises();
    expect(signal?.aborted).toBe(true);
    const [again] = await queue.receive();
    expect(again?.attempt).toBe(1);
  });

  it('refuses bad input at the call, naming it', () => {
    const queue = new MessageQueue<string>();
    const noop = () => {};
    expect(() => consumeQueueBatch(queue, noop, {} as { size: number })).toThrow(
      /consumeQueueBatch: size must be a whole number >= 1, got undefined/,
    );
    expect(() => consumeQueueBatch(queue, noop, { size: 0 })).toThrow(RangeError);
    expect(() => consumeQueueBatch(queue, noop, { size: 2, time: -1 })).toThrow(
      /time must be a finite number of milliseconds >= 0, got -1/,
    );
    expect(() => consumeQueueBatch(queue, noop, { size: 2, sise: 3 } as { size: number })).toThrow(
      /unknown option "sise" \(did you mean "size"\?\)/,
    );
    expect(() => consumeQueueBatch(queue, noop, { size: 2, timeout: -5 })).toThrow(/timeout/);
    expect(() => consumeQueueBatch(queue, 'f' as never, { size: 2 })).toThrow(
      /handler must be a function/,
    );
    expect(() => consumeQueueBatch({} as never, noop, { size: 2 })).toThrow(
      /store must be a QueueStore/,
    );
  });

  it('fail() with a message of another batch throws in the handler, which nacks the batch', async () => {
    const { queue, outcomes } = setup();
    queue.enqueue('a');
    const stranger = { payload: 'x' } as Delivery<string>;
    subscriptions.push(
      queue
        .consumeBatch((_messages, { fail }) => fail(stranger, new Error('?')), { size: 1 })
        .subscribe((o) => outcomes.push(label(o))),
    );
    await flushPromises();
    expect(outcomes).toEqual(['a:nacked']);
  });
});
