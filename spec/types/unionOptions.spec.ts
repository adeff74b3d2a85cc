/**
 * Type-level tests of the options that take a union: what each accepts, and what is a compile
 * error. They are checked by the compiler (`npm run typecheck`, run by CI), not at run time:
 * `expectTypeOf` does nothing when the spec runs, and every call marked `@ts-expect-error`
 * sits in a function that is never called. A union that widens (a string accepted as a
 * concurrency) or narrows (an Observable refused) fails the type check.
 */
import { BehaviorSubject, type Observable, of, Subject } from 'rxjs';
import {
  type AtLeastOnceOptions,
  atLeastOnce,
  type Backoff,
  bounded,
  broadcast,
  type ConsumeOptions,
  type DeadLetter,
  type Delivery,
  MessageQueue,
  mpsc,
  type OverflowHandler,
  type OverflowPolicy,
  type WorkerPoolConfig,
  type WorkerPoolOptions,
  watch,
  workerPool,
} from 'sluice';
import { describe, expectTypeOf, it } from 'vitest';

const work = (n: number) => of(n * 2);
const deliver = (n: number) => of({ ack: n });

describe('workerPool concurrency: number | Observable<number>', () => {
  it('is exactly that union', () => {
    expectTypeOf<WorkerPoolOptions<number>['concurrency']>().toEqualTypeOf<
      number | Observable<number> | undefined
    >();
  });

  it('keeps WorkerPoolConfig as a deprecated alias of WorkerPoolOptions', () => {
    expectTypeOf<WorkerPoolConfig<number>>().toEqualTypeOf<WorkerPoolOptions<number>>();
  });

  it('accepts a number, Infinity, and any Observable of numbers (a watch receiver, a Subject)', () => {
    const [, rx] = watch(2);
    expectTypeOf(workerPool<number, number>).toBeCallableWith(work, { concurrency: 4 });
    expectTypeOf(workerPool<number, number>).toBeCallableWith(work, { concurrency: Infinity });
    expectTypeOf(workerPool<number, number>).toBeCallableWith(work, { concurrency: rx });
    expectTypeOf(workerPool<number, number>).toBeCallableWith(work, {
      concurrency: new BehaviorSubject(2),
    });
  });

  it('refuses a string, an Observable of strings, a Promise', () => {
    const refused = () => [
      // @ts-expect-error a string is not a concurrency
      workerPool(work, { concurrency: '4' }),
      // @ts-expect-error an Observable must emit numbers
      workerPool(work, { concurrency: of('4') }),
      // @ts-expect-error a Promise is neither a number nor an Observable
      workerPool(work, { concurrency: Promise.resolve(4) }),
    ];
    expectTypeOf(refused).toBeFunction();
  });

  it('consume takes the same union: a live limit, 0 pauses it', () => {
    expectTypeOf<ConsumeOptions<number>['concurrency']>().toEqualTypeOf<
      number | Observable<number> | undefined
    >();
  });

  it('stays a plain number on atLeastOnce, which cannot change it live', () => {
    expectTypeOf<AtLeastOnceOptions<number>['concurrency']>().toEqualTypeOf<number | undefined>();
    const refused = () =>
      // @ts-expect-error atLeastOnce takes no Observable concurrency
      atLeastOnce(deliver, { concurrency: of(2) });
    expectTypeOf(refused).toBeFunction();
  });
});

describe('atLeastOnce backoff: number | Backoff', () => {
  it('is exactly that union', () => {
    expectTypeOf<AtLeastOnceOptions<number>['backoff']>().toEqualTypeOf<
      number | Backoff | undefined
    >();
  });

  it('accepts a constant delay or a Backoff with any subset of its fields', () => {
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, { backoff: 100 });
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, { backoff: {} });
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, {
      backoff: { initial: 10, factor: 2, max: 1000, jitter: 0.5 },
    });
  });

  it('refuses a misspelled field, a string, a function', () => {
    const refused = () => [
      // @ts-expect-error `initialDelay` is not a Backoff field
      atLeastOnce(deliver, { backoff: { initialDelay: 10 } }),
      // @ts-expect-error a string is not a delay
      atLeastOnce(deliver, { backoff: '100' }),
      // @ts-expect-error a per-attempt function is not a Backoff
      atLeastOnce(deliver, { backoff: (attempt: number) => attempt * 100 }),
    ];
    expectTypeOf(refused).toBeFunction();
  });
});

describe('deadLetter: Observer | function', () => {
  it('accepts an Observer with next (a channel sender, a Subject) or a callback', () => {
    const [tx] = mpsc<DeadLetter<number>>(10);
    type Options = AtLeastOnceOptions<number, { ack: number }>;
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, {
      deadLetter: tx,
    });
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, {
      deadLetter: new Subject<DeadLetter<number>>(),
    });
    expectTypeOf(atLeastOnce<number, { ack: number }>).toBeCallableWith(deliver, {
      deadLetter: (record: DeadLetter<number>) => void record.message,
    });
    expectTypeOf<{ next: (record: DeadLetter<number>) => void }>().toMatchTypeOf<
      NonNullable<Options['deadLetter']>
    >();
  });

  it('refuses an Observer of another message type, an object without next, a wrong callback', () => {
    const [wrong] = mpsc<DeadLetter<string>>(10);
    const refused = () => [
      // @ts-expect-error the dead letters carry numbers, not strings
      atLeastOnce<number, { ack: number }>(deliver, { deadLetter: wrong }),
      // @ts-expect-error an object needs a next method
      atLeastOnce<number, { ack: number }>(deliver, { deadLetter: { error: () => {} } }),
      // @ts-expect-error the callback takes a DeadLetter record, not a string
      atLeastOnce<number, { ack: number }>(deliver, { deadLetter: (record: string) => record }),
    ];
    expectTypeOf(refused).toBeFunction();
  });
});

describe('consume backoff: number | Backoff | function', () => {
  it('is exactly that union', () => {
    expectTypeOf<ConsumeOptions<number>['backoff']>().toEqualTypeOf<
      number | Backoff | ((message: Delivery<number>, error: unknown) => number) | undefined
    >();
  });

  it('accepts a delay, a Backoff or a function of the delivery and the error', () => {
    const queue = new MessageQueue<number>();
    const handle = (message: Delivery<number>) => of(message.payload);
    expectTypeOf(queue.consume).toBeCallableWith(handle, { backoff: 100 });
    expectTypeOf(queue.consume).toBeCallableWith(handle, { backoff: { initial: 100, max: 5000 } });
    expectTypeOf(queue.consume).toBeCallableWith(handle, {
      backoff: (message: Delivery<number>) => message.attempt * 100,
    });
    const refused = () => [
      // @ts-expect-error a string is not a delay
      queue.consume(handle, { backoff: '100' }),
      // @ts-expect-error not a field of Backoff
      queue.consume(handle, { backoff: { start: 100 } }),
      // @ts-expect-error the function must return a number of milliseconds
      queue.consume(handle, { backoff: () => '100' }),
    ];
    expectTypeOf(refused).toBeFunction();
    queue.close();
  });
});

describe('consume retryDelay (the deprecated alias of backoff): number | function', () => {
  it('is exactly that union', () => {
    expectTypeOf<ConsumeOptions<number>['retryDelay']>().toEqualTypeOf<
      number | ((message: Delivery<number>, error: unknown) => number) | undefined
    >();
  });

  it('accepts a delay or a function of the delivery and the error', () => {
    const queue = new MessageQueue<number>();
    const handle = (message: Delivery<number>) => of(message.payload);
    expectTypeOf(queue.consume).toBeCallableWith(handle, { retryDelay: 100 });
    expectTypeOf(queue.consume).toBeCallableWith(handle, {
      retryDelay: (message: Delivery<number>) => message.attempt * 100,
    });
    const refused = () => [
      // @ts-expect-error a string is not a delay
      queue.consume(handle, { retryDelay: '100' }),
      // @ts-expect-error the function must return a number of milliseconds
      queue.consume(handle, { retryDelay: () => '100' }),
    ];
    expectTypeOf(refused).toBeFunction();
    queue.close();
  });
});

describe('overflow: the OverflowPolicy union', () => {
  it('is exactly the four policies, and onOverflow is told which of the two that discard', () => {
    expectTypeOf<OverflowPolicy>().toEqualTypeOf<'block' | 'drop' | 'replace' | 'error'>();
    expectTypeOf<Parameters<OverflowHandler<number>>>().toEqualTypeOf<
      [discarded: number, policy: 'drop' | 'replace']
    >();
  });

  it('accepts each policy on every bounded buffer', () => {
    for (const overflow of ['block', 'drop', 'replace', 'error'] as const) {
      expectTypeOf(mpsc<number>).toBeCallableWith(8, { overflow });
      expectTypeOf(bounded<number>).toBeCallableWith(8, { overflow });
      expectTypeOf(workerPool<number, number>).toBeCallableWith(work, { overflow });
    }
  });

  it('refuses a misspelled policy, a policy from another library, and a mismatched handler', () => {
    const refused = () => [
      // @ts-expect-error 'dropping' is Effect's name, sluice's is 'drop'
      mpsc<number>(8, { overflow: 'dropping' }),
      // @ts-expect-error 'sliding' is not a policy ('replace' is)
      bounded<number>(8, { overflow: 'sliding' }),
      // @ts-expect-error onOverflow receives the channel's message type
      mpsc<number>(8, { overflow: 'drop', onOverflow: (discarded: string) => discarded }),
    ];
    expectTypeOf(refused).toBeFunction();
  });

  it("broadcast's lag is its own union, not an overflow policy", () => {
    const refused = () =>
      // @ts-expect-error broadcast never blocks a sender: lag is 'skip' or 'error'
      broadcast<number>(8, { lag: 'block' });
    expectTypeOf(refused).toBeFunction();
  });
});
