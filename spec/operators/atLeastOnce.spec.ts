import {
  catchError,
  mergeMap,
  NEVER,
  Observable,
  of,
  type SchedulerAction,
  type SchedulerLike,
  Subject,
  type Subscription,
  take,
  throwError,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AckTimeoutError,
  atLeastOnce,
  ChannelFullError,
  type DeadLetter,
  type DeliveryContext,
  DeliveryFailedError,
  mpsc,
  type RetryEvent,
  type StaleAck,
} from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A scheduler that knows how many of its timers are still pending. */
function tracking(inner: SchedulerLike): SchedulerLike & { readonly pending: number } {
  const live = new Set<object>();
  return {
    get pending() {
      return live.size;
    },
    now: () => inner.now(),
    schedule<S>(
      work: (this: SchedulerAction<S>, state?: S) => void,
      delay?: number,
      state?: S,
    ): Subscription {
      const token = {};
      live.add(token);
      const sub = inner.schedule(
        function (this: SchedulerAction<S>, s?: S) {
          live.delete(token);
          work.call(this, s);
        },
        delay,
        state,
      );
      sub.add(() => live.delete(token));
      return sub;
    },
  };
}

/** Errors as values, so marbles can compare them. */
const describeError = (err: unknown): string => {
  if (err instanceof DeliveryFailedError) {
    const cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
    return `failed:${String(err.value)}:${err.attempts}:${cause}`;
  }
  if (err instanceof ChannelFullError) return `full:${String(err.value)}`;
  return `error:${err instanceof Error ? err.message : String(err)}`;
};

describe('atLeastOnce: marble tests', () => {
  it('emits { message, ack, attempts } for an ack in time and ends the attempt there', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a---|');
      const ack = cold('    --k|');
      const output = source.pipe(atLeastOnce(() => ack, { ackTimeout: 5 }));
      expectObservable(output).toBe('---x-|', { x: { message: 'a', ack: 'k', attempts: 1 } });
      expectSubscriptions(source.subscriptions).toBe('^----!');
      expectSubscriptions(ack.subscriptions).toBe('-^-!');
    });
  });

  it('an ack at exactly the deadline still counts', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(atLeastOnce(() => cold('---k'), { ackTimeout: 3 }));
      expectObservable(output).toBe('---(x|)', { x: { message: 'a', ack: 'k', attempts: 1 } });
    });
  });

  it('a timeout abandons the attempt and retries after the backoff', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = [cold('-------p'), cold('-q')];
      const output = cold('a|').pipe(
        atLeastOnce((_m: string, { attempt }) => attempts[attempt - 1]!, {
          ackTimeout: 3,
          backoff: 2,
        }),
      );
      // timeout at 3, retry at 5, ack at 6; attempt 1 stays subscribed until the message settles
      expectObservable(output).toBe('------(x|)', {
        x: { message: 'a', ack: 'q', attempts: 2 },
      });
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^-----!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('-----^!');
    });
  });

  it('records the abort of a timed-out attempt with the timeout error as reason', () => {
    const scheduler = testScheduler();
    const aborted: Array<[number, number, string]> = [];
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('-------p'), cold('-q')];
      const output = cold('a|').pipe(
        atLeastOnce(
          (_m: string, { attempt, signal }: DeliveryContext) => {
            signal.addEventListener('abort', () =>
              aborted.push([attempt, scheduler.now(), (signal.reason as Error).message]),
            );
            return attempts[attempt - 1]!;
          },
          { ackTimeout: 3, backoff: 2 },
        ),
      );
      expectObservable(output).toBe('------(x|)', {
        x: { message: 'a', ack: 'q', attempts: 2 },
      });
    });
    // attempt 2 was acked: its signal never aborts
    expect(aborted).toEqual([[1, 3, 'atLeastOnce: no ack within 3ms (attempt 1)']]);
  });

  it('each attempt has its own deadline, counted from its own start', () => {
    const scheduler = testScheduler();
    const deadAt: Array<[string, number]> = [];
    scheduler.run(({ cold, expectObservable }) => {
      const output = cold('ab-c').pipe(
        atLeastOnce<string, string>((m: string) => (m === 'a' ? cold<string>('-k') : NEVER), {
          ackTimeout: 5,
          maxAttempts: 1,
          concurrency: 3,
          deadLetter: (record) => deadAt.push([record.message, scheduler.now()]),
        }),
      );
      // a is acked at 1, before its deadline (5); b and c time out 5 after their own starts
      expectObservable(output).toBe('-x', { x: { message: 'a', ack: 'k', attempts: 1 } });
    });
    expect(deadAt).toEqual([
      ['b', 6],
      ['c', 8],
    ]);
  });

  it('an ackTimeout of 0 still lets an ack of the same instant count', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab|').pipe(
        atLeastOnce((m: string) => (m === 'a' ? of('k') : cold<string>('k')), {
          ackTimeout: 0,
          concurrency: 2,
        }),
      );
      expectObservable(output).toBe('xy|', {
        x: { message: 'a', ack: 'k', attempts: 1 },
        y: { message: 'b', ack: 'k', attempts: 1 },
      });
    });
  });

  it('backoff: exponential delays capped at max, exact times', () => {
    const scheduler = testScheduler();
    const starts: number[] = [];
    const dead: DeadLetter<string>[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(
        atLeastOnce(
          () => {
            starts.push(scheduler.now());
            return throwError(() => new Error('nope'));
          },
          {
            maxAttempts: 5,
            backoff: { initial: 10, factor: 3, max: 100 },
            deadLetter: (record) => dead.push(record),
          },
        ),
      );
      expectObservable(output).toBe('230ms |');
    });
    // delays 10, 30, 90, then capped at 100
    expect(starts).toEqual([0, 10, 40, 130, 230]);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ message: 'a', attempts: 5 });
    expect((dead[0]!.error as Error).message).toBe('nope');
  });

  it('backoff with jitter made deterministic by an injected random source', () => {
    const scheduler = testScheduler();
    const starts: number[] = [];
    const retries: RetryEvent<string>[] = [];
    let draws = 0;
    scheduler.run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(
        atLeastOnce(
          () => {
            starts.push(scheduler.now());
            return cold('#', undefined, new Error('down'));
          },
          {
            maxAttempts: 4,
            // base delays 8, 16, 24 (32 capped); jitter 0.5 with random() = 0.5 keeps 75%
            backoff: { initial: 8, factor: 2, max: 24, jitter: 0.5 },
            random: () => {
              draws++;
              return 0.5;
            },
            deadLetter: () => {},
            onRetry: (event) => retries.push(event),
          },
        ),
      );
      expectObservable(output).toBe('36ms |');
    });
    expect(starts).toEqual([0, 6, 18, 36]);
    expect(retries.map((r) => [r.attempt, r.delay, r.reason])).toEqual([
      [1, 6, 'error'],
      [2, 12, 'error'],
      [3, 18, 'error'],
    ]);
    expect(draws).toBe(3);
  });

  it('full jitter with random() = 1 retries at once; a constant backoff ignores random', () => {
    const scheduler = testScheduler();
    const starts: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(
        atLeastOnce(
          (_m, { attempt }) => {
            starts.push(scheduler.now());
            return attempt < 3 ? throwError(() => new Error('x')) : of('ok');
          },
          { backoff: { initial: 50, jitter: 1 }, random: () => 1 },
        ),
      );
      expectObservable(output).toBe('x|', { x: { message: 'a', ack: 'ok', attempts: 3 } });
    });
    expect(starts).toEqual([0, 0, 0]);
  });

  it('dead-letters after maxAttempts, to a callback, and keeps going', () => {
    const dead: DeadLetter<string>[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const fail = cold('-#', undefined, new Error('rejected'));
      const output = cold('ab|').pipe(
        atLeastOnce((m: string) => (m === 'a' ? fail : cold('-k')), {
          maxAttempts: 3,
          backoff: 2,
          deadLetter: (record) => dead.push(record),
        }),
      );
      // a: attempts at 0, 3, 6, each failing one frame later; dead-lettered at 7; then b
      expectObservable(output).toBe('--------(y|)', { y: { message: 'b', ack: 'k', attempts: 1 } });
      expectSubscriptions(fail.subscriptions).toBe(['^!', '---^!', '------^!']);
    });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ message: 'a', attempts: 3 });
    expect((dead[0]!.error as Error).message).toBe('rejected');
  });

  it('dead-letters to an Observer such as a channel sender, which stays open', async () => {
    const [tx, rx] = mpsc<DeadLetter<string>>(4);
    const subject = new Subject<string>();
    const received: unknown[] = [];
    subject
      .pipe(
        atLeastOnce(() => throwError(() => new Error('gone')), {
          maxAttempts: 1,
          deadLetter: tx,
        }),
      )
      .subscribe({ next: (v) => received.push(v), complete: () => received.push('done') });
    subject.next('m1');
    subject.next('m2');
    subject.complete();
    expect(received).toEqual(['done']);
    expect(tx.isClosed).toBe(false);
    const first = await rx.recv();
    expect(first.message).toBe('m1');
    expect(first.attempts).toBe(1);
    expect((first.error as Error).message).toBe('gone');
    expect((await rx.recv()).message).toBe('m2');
  });

  it('without deadLetter, fails with DeliveryFailedError carrying message, attempts and cause', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('--------k');
      const source = cold('ab');
      const output = source.pipe(
        atLeastOnce((m: string) => (m === 'a' ? cold('#') : slow), {
          maxAttempts: 2,
          backoff: 3,
          concurrency: 2,
        }),
        catchError((err) => of(describeError(err))),
      );
      expectObservable(output).toBe('---(e|)', { e: 'failed:a:2:error' });
      // the other message in flight is cancelled at once
      expectSubscriptions(slow.subscriptions).toBe('-^-!');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('DeliveryFailedError for a timeout names the deadline in its cause', () => {
    let error: unknown;
    testScheduler().run(({ cold }) => {
      cold('a')
        .pipe(atLeastOnce(() => NEVER, { ackTimeout: 4, maxAttempts: 1 }))
        .subscribe({
          error: (err: unknown) => (error = err),
        });
    });
    expect(error).toBeInstanceOf(DeliveryFailedError);
    const failed = error as DeliveryFailedError<string>;
    expect(failed.value).toBe('a');
    expect(failed.attempts).toBe(1);
    expect((failed.cause as Error).message).toBe('atLeastOnce: no ack within 4ms (attempt 1)');
    expect(failed.cause).toBeInstanceOf(AckTimeoutError);
    expect(failed.cause).toMatchObject({ name: 'AckTimeoutError', attempt: 1, ackTimeout: 4 });
  });

  it('a stale ack from attempt n arriving during attempt n+1 is ignored and counted', () => {
    const stale: StaleAck<string, string>[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = [cold('-----p'), cold('   ---q')];
      const output = cold('a|').pipe(
        atLeastOnce((_m: string, { attempt }) => attempts[attempt - 1]!, {
          ackTimeout: 3,
          backoff: 1,
          onStaleAck: (event) => stale.push(event),
        }),
      );
      // attempt 1 times out at 3; attempt 2 starts at 4; p arrives at 5 (stale); q at 7
      expectObservable(output).toBe('-------(x|)', {
        x: { message: 'a', ack: 'q', attempts: 2 },
      });
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^----!');
      expectSubscriptions(attempts[1]!.subscriptions).toBe('----^--!');
    });
    expect(stale).toEqual([{ message: 'a', attempt: 1, ack: 'p' }]);
  });

  it('reports the stale ack at the time it arrives', () => {
    const stale: StaleAck<string, string>[] = [];
    const scheduler = testScheduler();
    let staleAt = -1;
    scheduler.run(({ cold, expectObservable }) => {
      const attempts = [cold('-----p'), cold('---q')];
      const output = cold('a|').pipe(
        atLeastOnce((_m: string, { attempt }) => attempts[attempt - 1]!, {
          ackTimeout: 3,
          backoff: 1,
          onStaleAck: (event) => {
            stale.push(event);
            staleAt = scheduler.now();
          },
        }),
      );
      expectObservable(output).toBe('-------(x|)', {
        x: { message: 'a', ack: 'q', attempts: 2 },
      });
    });
    expect(stale).toEqual([{ message: 'a', attempt: 1, ack: 'p' }]);
    expect(staleAt).toBe(5);
  });

  it('an ack during the backoff, after a timeout, is stale too; the retry still runs', () => {
    const stale: number[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const attempts = [cold('----p'), cold('-q')];
      const output = cold('a|').pipe(
        atLeastOnce((_m: string, { attempt }) => attempts[attempt - 1]!, {
          ackTimeout: 2,
          backoff: 5,
          onStaleAck: (e) => stale.push(e.attempt),
        }),
      );
      // timeout at 2, p at 4 (stale), retry at 7, q at 8
      expectObservable(output).toBe('--------(x|)', {
        x: { message: 'a', ack: 'q', attempts: 2 },
      });
    });
    expect(stale).toEqual([1]);
  });

  it('an error fails the attempt at once; a timeout waits for the deadline', () => {
    const scheduler = testScheduler();
    const retries: Array<[number, number, string, string]> = [];
    const aborts: Array<[number, boolean]> = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = [cold('-#', undefined, new Error('boom')), cold('------k'), cold('k')];
      const output = cold('a|').pipe(
        atLeastOnce(
          (_m: string, { attempt, signal }) => {
            signal.addEventListener('abort', () => aborts.push([attempt, scheduler.now() > 0]));
            return attempts[attempt - 1]!;
          },
          {
            ackTimeout: 4,
            backoff: 1,
            onRetry: (e) =>
              retries.push([e.attempt, scheduler.now(), e.reason, (e.error as Error).message]),
          },
        ),
      );
      expectObservable(output).toBe('-------(x|)', { x: { message: 'a', ack: 'k', attempts: 3 } });
      expectSubscriptions(attempts[0]!.subscriptions).toBe('^!');
      // the timed-out attempt is kept (a late ack would be counted) until the message settles
      expectSubscriptions(attempts[1]!.subscriptions).toBe('--^----!');
    });
    expect(retries).toEqual([
      [1, 1, 'error', 'boom'],
      [2, 6, 'timeout', 'atLeastOnce: no ack within 4ms (attempt 2)'],
    ]);
    expect(aborts.map(([attempt]) => attempt)).toEqual([1, 2]);
  });

  it('a delivery that completes without a value, or throws, is a failed attempt', () => {
    const retries: string[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(
        atLeastOnce(
          (_m: string, { attempt }) => {
            if (attempt === 1) return cold<string>('-|');
            if (attempt === 2) throw new Error('thrown');
            return of('k');
          },
          { backoff: 1, onRetry: (e) => retries.push((e.error as Error).message) },
        ),
      );
      expectObservable(output).toBe('---(x|)', { x: { message: 'a', ack: 'k', attempts: 3 } });
    });
    expect(retries).toEqual([
      'atLeastOnce: delivery completed without an ack (attempt 1)',
      'thrown',
    ]);
  });

  it('unsubscribing mid-attempt cancels the attempt, aborts its signal, and leaves no timer', () => {
    const scheduler = testScheduler();
    let tracked: ReturnType<typeof tracking> | undefined;
    const signals: AbortSignal[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      tracked = tracking(scheduler);
      const ack = cold('--------k');
      const output = cold('a').pipe(
        atLeastOnce(
          (_m: string, { signal }) => {
            signals.push(signal);
            return ack;
          },
          { ackTimeout: 5, scheduler: tracked },
        ),
      );
      expectObservable(output, '--!').toBe('-');
      expectSubscriptions(ack.subscriptions).toBe('^-!');
      flush();
      expect(tracked.pending).toBe(0);
    });
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('unsubscribing during a backoff cancels the retry timer', () => {
    const scheduler = testScheduler();
    let tracked: ReturnType<typeof tracking> | undefined;
    let calls = 0;
    scheduler.run(({ cold, expectObservable, flush }) => {
      tracked = tracking(scheduler);
      const output = cold('a').pipe(
        atLeastOnce(
          () => {
            calls++;
            return throwError(() => new Error('x'));
          },
          { backoff: 10, scheduler: tracked },
        ),
      );
      expectObservable(output, '---!').toBe('-');
      flush();
      expect(tracked.pending).toBe(0);
    });
    expect(calls).toBe(1);
  });

  it('respects concurrency: messages wait for a free slot', () => {
    let running = 0;
    let max = 0;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abcde|');
      const inners = {
        a: cold<string>('---A'),
        b: cold<string>('---B'),
        c: cold<string>('---C'),
        d: cold<string>('---D'),
        e: cold<string>('---E'),
      };
      const output = source.pipe(
        atLeastOnce(
          (m: string) =>
            new Observable<string>((subscriber) => {
              max = Math.max(max, ++running);
              const sub = inners[m as keyof typeof inners].subscribe(subscriber);
              return () => {
                running--;
                sub.unsubscribe();
              };
            }),
          { concurrency: 2 },
        ),
      );
      const acked = (m: string) => ({ message: m, ack: m.toUpperCase(), attempts: 1 });
      expectObservable(output).toBe('---ab-cd-(e|)', {
        a: acked('a'),
        b: acked('b'),
        c: acked('c'),
        d: acked('d'),
        e: acked('e'),
      });
      expectSubscriptions(inners.a.subscriptions).toBe('^--!');
      expectSubscriptions(inners.b.subscriptions).toBe('-^--!');
      expectSubscriptions(inners.c.subscriptions).toBe('---^--!');
      expectSubscriptions(inners.d.subscriptions).toBe('----^--!');
      expectSubscriptions(inners.e.subscriptions).toBe('------^--!');
    });
    expect(max).toBe(2);
    expect(running).toBe(0);
  });

  it('a message waiting to be retried keeps its slot', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab|').pipe(
        atLeastOnce(
          (m: string, { attempt }) =>
            m === 'a' && attempt === 1 ? throwError(() => new Error('x')) : of(m),
          { backoff: 4 },
        ),
      );
      expectObservable(output).toBe('----(ab|)', {
        a: { message: 'a', ack: 'a', attempts: 2 },
        b: { message: 'b', ack: 'b', attempts: 1 },
      });
    });
  });

  it('empty source completes at once', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(atLeastOnce(() => of(1)))).toBe('|');
    });
  });

  it('never source never emits and stays subscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-');
      expectObservable(source.pipe(atLeastOnce(() => of(1)))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('a source error reaches the output after the messages in flight settle', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-#');
      const ack = cold('   ---k');
      expectObservable(source.pipe(atLeastOnce(() => ack))).toBe('----(x#)', {
        x: { message: 'a', ack: 'k', attempts: 1 },
      });
      expectSubscriptions(ack.subscriptions).toBe('-^--!');
      expectObservable(cold('--#').pipe(atLeastOnce(() => ack))).toBe('--#');
    });
  });

  it('a throwing deadLetter, onRetry or onStaleAck fails the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const bad = () => {
        throw new Error('callback');
      };
      const failing = () => cold('#');
      const asValue = catchError((err: unknown) => of(describeError(err)));
      expectObservable(
        cold('a').pipe(atLeastOnce(failing, { maxAttempts: 1, deadLetter: bad }), asValue),
      ).toBe('(e|)', { e: 'error:callback' });
      expectObservable(cold('a').pipe(atLeastOnce(failing, { onRetry: bad }), asValue)).toBe(
        '(e|)',
        { e: 'error:callback' },
      );
      const attempts = [cold('---k'), cold('------k')];
      expectObservable(
        cold('a').pipe(
          atLeastOnce((_m: string, { attempt }) => attempts[attempt - 1]!, {
            ackTimeout: 2,
            backoff: 0,
            onStaleAck: bad,
          }),
          asValue,
        ),
      ).toBe('---(e|)', { e: 'error:callback' });
    });
  });

  it('a random source out of range fails the output', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a').pipe(
        atLeastOnce(() => cold('#'), { backoff: { jitter: 1 }, random: () => 2 }),
        catchError((err: unknown) => of(describeError(err))),
      );
      expectObservable(output).toBe('(e|)', {
        e: 'error:atLeastOnce: random() must return a number from 0 to 1, got 2',
      });
    });
  });

  it('early unsubscribe keeps the chain intact', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a--b--c--|');
      const ack = cold('  -k');
      const output = source.pipe(
        mergeMap((x) => of(x)),
        atLeastOnce(() => ack),
        mergeMap((x) => of(x.message)),
      );
      expectObservable(output, '------!').toBe('--a--b');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    const seen: number[] = [];
    const firehose = new Observable<number>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 1000; i++) {
        seen.push(i);
        subscriber.next(i);
      }
    });
    const out: number[] = [];
    firehose
      .pipe(
        atLeastOnce((m) => of(m)),
        take(3),
      )
      .subscribe((d) => out.push(d.message));
    expect(out).toEqual([0, 1, 2]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('a synchronous ack stops a synchronous delivery after its first value', () => {
    let produced = 0;
    const chatty = new Observable<number>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 100; i++) {
        produced++;
        subscriber.next(i);
      }
    });
    const out: number[] = [];
    of('a')
      .pipe(atLeastOnce(() => chatty))
      .subscribe((d) => out.push(d.ack));
    expect(out).toEqual([0]);
    expect(produced).toBe(1);
  });
});

describe('atLeastOnce: backpressure', () => {
  it('a push source beyond concurrency + capacity under block: stop, finish accepted, then ChannelFullError', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abcde|');
      const output = source.pipe(
        atLeastOnce((m: string) => cold('-----k', { k: m }), { capacity: 2 }),
        catchError((err: unknown) => of(describeError(err))),
      );
      const acked = (m: string) => ({ message: m, ack: m, attempts: 1 });
      // a in flight, b and c wait, d is refused at 3: a, b, c still finish, then the error
      expectObservable(output).toBe('-----a----b----(cf|)', {
        a: acked('a'),
        b: acked('b'),
        c: acked('c'),
        f: 'full:d',
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it("'drop' reports the refused message and keeps going", () => {
    const dropped: Array<[string, string]> = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('abc|').pipe(
        atLeastOnce((m: string) => cold('--k', { k: m }), {
          capacity: 1,
          overflow: 'drop',
          onOverflow: (m, policy) => dropped.push([m, policy]),
        }),
      );
      expectObservable(output).toBe('--a-(b|)', {
        a: { message: 'a', ack: 'a', attempts: 1 },
        b: { message: 'b', ack: 'b', attempts: 1 },
      });
    });
    expect(dropped).toEqual([['c', 'drop']]);
  });

  it("'replace' evicts the oldest waiting message, reports it, and keeps going", () => {
    const replaced: Array<[string, string]> = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('abc|').pipe(
        atLeastOnce((m: string) => cold('---k', { k: m }), {
          capacity: 1,
          overflow: 'replace',
          onOverflow: (m, policy) => replaced.push([m, policy]),
        }),
      );
      // a in flight, b waits, c arrives at 2 and takes b's place
      expectObservable(output).toBe('---a--(c|)', {
        a: { message: 'a', ack: 'a', attempts: 1 },
        c: { message: 'c', ack: 'c', attempts: 1 },
      });
    });
    expect(replaced).toEqual([['b', 'replace']]);
  });

  it("'error' stops the source at the refused message, finishes the accepted ones, then fails", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abcd|');
      const output = source.pipe(
        atLeastOnce((m: string) => cold('---k', { k: m }), { capacity: 1, overflow: 'error' }),
        catchError((err: unknown) => of(describeError(err))),
      );
      expectObservable(output).toBe('---a--(bf|)', {
        a: { message: 'a', ack: 'a', attempts: 1 },
        b: { message: 'b', ack: 'b', attempts: 1 },
        f: 'full:c',
      });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('a throwing onOverflow fails the output at once and cancels the attempts', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abc|');
      const ack = cold('-----k');
      const output = source.pipe(
        atLeastOnce(() => ack, {
          capacity: 1,
          overflow: 'drop',
          onOverflow: () => {
            throw new Error('overflow callback');
          },
        }),
        catchError((err: unknown) => of(describeError(err))),
      );
      expectObservable(output).toBe('--(e|)', { e: 'error:overflow callback' });
      expectSubscriptions(source.subscriptions).toBe('^-!');
      expectSubscriptions(ack.subscriptions).toBe('^-!');
    });
  });

  it('a source error waits for the messages waiting for a slot, not only those in flight', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab#').pipe(atLeastOnce((m: string) => cold('---k', { k: m })));
      expectObservable(output).toBe('---a--(b#)', {
        a: { message: 'a', ack: 'a', attempts: 1 },
        b: { message: 'b', ack: 'b', attempts: 1 },
      });
    });
  });

  it('unsubscribing discards the messages waiting for a slot', () => {
    const source = new Subject<string>();
    const delivered: string[] = [];
    const sub = source
      .pipe(
        atLeastOnce(
          (m: string) => {
            delivered.push(m);
            return NEVER;
          },
          { ackTimeout: Number.POSITIVE_INFINITY },
        ),
      )
      .subscribe();
    source.next('a');
    source.next('b');
    source.next('c');
    expect(delivered).toEqual(['a']);
    sub.unsubscribe();
    expect(source.observed).toBe(false);
    source.next('d');
    expect(delivered).toEqual(['a']);
  });

  it('pulls from a channel receiver only as many messages as there are free slots', () => {
    const [tx, rx] = mpsc<number>(2);
    const pending = new Map<number, Subject<string>>();
    const out: number[] = [];
    let completed = false;
    rx.pipe(
      atLeastOnce(
        (m: number) => {
          const ack = new Subject<string>();
          pending.set(m, ack);
          return ack;
        },
        { concurrency: 2, ackTimeout: Number.POSITIVE_INFINITY },
      ),
    ).subscribe({ next: (d) => out.push(d.message), complete: () => (completed = true) });
    for (let i = 1; i <= 4; i++) expect(tx.trySend(i).ok).toBe(true);
    // 1 and 2 are in flight, 3 and 4 fill the channel: a fifth is refused
    expect([...pending.keys()]).toEqual([1, 2]);
    expect(tx.trySend(5)).toEqual({ ok: false, reason: 'full', value: 5 });
    pending.get(2)!.next('ok');
    expect([...pending.keys()]).toEqual([1, 2, 3]);
    expect(tx.trySend(5).ok).toBe(true);
    tx.close();
    pending.get(1)!.next('ok');
    expect([...pending.keys()]).toEqual([1, 2, 3, 4]);
    pending.get(3)!.next('ok');
    pending.get(4)!.next('ok');
    expect(completed).toBe(false);
    pending.get(5)!.next('ok');
    expect(out).toEqual([2, 1, 3, 4, 5]);
    expect(completed).toBe(true);
  });

  it('an infinite ackTimeout schedules no timer', () => {
    const scheduler = testScheduler();
    scheduler.run(({ cold, expectObservable, flush }) => {
      const tracked = tracking(scheduler);
      expectObservable(
        cold('a').pipe(
          atLeastOnce(() => NEVER, { ackTimeout: Number.POSITIVE_INFINITY, scheduler: tracked }),
        ),
      ).toBe('-');
      flush();
      expect(tracked.pending).toBe(0);
    });
  });
});

describe('atLeastOnce: real timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with asyncScheduler, unsubscribing leaves no pending timer', () => {
    vi.useFakeTimers();
    const subject = new Subject<string>();
    const sub = subject.pipe(atLeastOnce(() => NEVER, { ackTimeout: 1000 })).subscribe();
    subject.next('a');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000); // timeout: now a retry is scheduled
    expect(vi.getTimerCount()).toBe(1);
    sub.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('atLeastOnce: argument checks', () => {
  it('rejects bad arguments at the call, naming them', () => {
    const ok = () => of(1);
    expect(() => atLeastOnce(42 as never)).toThrow(
      new TypeError('atLeastOnce: deliver must be a function, got 42'),
    );
    expect(() => atLeastOnce(ok, { ackTimeout: -1 })).toThrow(
      new RangeError(
        'atLeastOnce: ackTimeout must be a number of milliseconds >= 0 or Infinity, got -1',
      ),
    );
    expect(() => atLeastOnce(ok, { maxAttempts: 0 })).toThrow(RangeError);
    expect(() => atLeastOnce(ok, { concurrency: 1.5 })).toThrow(RangeError);
    expect(() => atLeastOnce(ok, { capacity: 0 })).toThrow(RangeError);
    expect(() => atLeastOnce(ok, { overflow: 'wait' as never })).toThrow(TypeError);
    expect(() => atLeastOnce(ok, { backoff: { jitter: 2 } })).toThrow(
      new RangeError('atLeastOnce: backoff.jitter must be a number from 0 to 1, got 2'),
    );
    expect(() => atLeastOnce(ok, { backoff: { factor: 0.5 } })).toThrow(RangeError);
    expect(() => atLeastOnce(ok, { backoff: { max: Number.POSITIVE_INFINITY } })).toThrow(
      RangeError,
    );
    expect(() => atLeastOnce(ok, { backoff: -5 })).toThrow(RangeError);
    expect(() => atLeastOnce(ok, { deadLetter: 'x' as never })).toThrow(
      new TypeError('atLeastOnce: deadLetter must be an Observer or a function, got "x"'),
    );
    expect(() => atLeastOnce(ok, { random: 1 as never })).toThrow(TypeError);
    expect(() => atLeastOnce(ok, { scheduler: {} as never })).toThrow(TypeError);
    expect(() => atLeastOnce(ok, 'x' as never)).toThrow(TypeError);
  });
});

describe('atLeastOnce: retryable', () => {
  class Invalid extends Error {
    override readonly name = 'Invalid';
  }

  it('false dead-letters the message at once; true retries as usual', () => {
    const scheduler = testScheduler();
    const asked: Array<[string, number]> = [];
    const dead: DeadLetter<string>[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const bad = cold('-#', {}, new Invalid('bad shape'));
      const flaky = cold('-#', {}, new Error('flaky'));
      const source = cold('ab|');
      const output = source.pipe(
        atLeastOnce((m: string) => (m === 'a' ? bad : flaky), {
          concurrency: 2,
          maxAttempts: 3,
          backoff: 2,
          retryable: (error, attempt) => {
            asked.push([(error as Error).message, attempt]);
            return !(error instanceof Invalid);
          },
          deadLetter: (record) => dead.push(record),
        }),
      );
      // a: one attempt, dead at 1; b: three attempts (1, 4, 7), dead at 8
      expectObservable(output).toBe('--------|');
      expectSubscriptions(bad.subscriptions).toBe('^!');
      expectSubscriptions(flaky.subscriptions).toBe(['-^!', '----^!', '-------^!']);
    });
    expect(dead.map((d) => [d.message, d.attempts])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    expect((dead[0]!.error as Error).message).toBe('bad shape');
    // not asked about the last of maxAttempts
    expect(asked).toEqual([
      ['bad shape', 1],
      ['flaky', 1],
      ['flaky', 2],
    ]);
  });

  it('is asked about an ack timeout too, with the AckTimeoutError', () => {
    const errors: unknown[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a').pipe(
        atLeastOnce(() => NEVER, {
          ackTimeout: 3,
          retryable: (error) => {
            errors.push(error);
            return false;
          },
        }),
        catchError((err) => of(describeError(err))),
      );
      expectObservable(output).toBe('---(e|)', {
        e: 'failed:a:1:atLeastOnce: no ack within 3ms (attempt 1)',
      });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AckTimeoutError);
  });

  it('without deadLetter, false fails the output with DeliveryFailedError naming the cause', () => {
    let error: unknown;
    testScheduler().run(({ cold }) => {
      cold('a')
        .pipe(
          atLeastOnce(() => cold('#', {}, new Invalid('bad shape')), {
            maxAttempts: 5,
            retryable: () => false,
          }),
        )
        .subscribe({ error: (err: unknown) => (error = err) });
    });
    expect(error).toBeInstanceOf(DeliveryFailedError);
    expect((error as DeliveryFailedError).attempts).toBe(1);
    expect((error as Error).message).toBe('delivery failed after 1 attempt: Invalid: bad shape');
  });

  it('a throwing retryable, or one returning a non-boolean, fails the output naming it', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = () => cold('#');
      const asValue = catchError((err: unknown) => of(describeError(err)));
      const throwing = () => {
        throw new Error('callback');
      };
      expectObservable(cold('a').pipe(atLeastOnce(failing, { retryable: throwing }), asValue)).toBe(
        '(e|)',
        { e: 'error:callback' },
      );
      const notBoolean = (() => 'no') as unknown as () => boolean;
      expectObservable(
        cold('a').pipe(atLeastOnce(failing, { retryable: notBoolean }), asValue),
      ).toBe('(e|)', { e: 'error:atLeastOnce: retryable must return a boolean, got "no"' });
    });
  });

  it('refuses a retryable that is not a function', () => {
    expect(() => atLeastOnce(() => of(1), { retryable: 1 as never })).toThrow(TypeError);
    expect(() => atLeastOnce(() => of(1), { retryable: 1 as never })).toThrow(/retryable/);
  });
});

describe('DeliveryFailedError: message', () => {
  it('names the last cause', () => {
    expect(new DeliveryFailedError('m', 3, new TypeError('boom')).message).toBe(
      'delivery failed after 3 attempts: TypeError: boom',
    );
    expect(new DeliveryFailedError('m', 1, 'plain').message).toBe(
      'delivery failed after 1 attempt: plain',
    );
    expect(new DeliveryFailedError('m', 2, undefined).message).toBe(
      'delivery failed after 2 attempts: no error given',
    );
    expect(new DeliveryFailedError('m', 2, new Error('')).message).toBe(
      'delivery failed after 2 attempts: Error',
    );
  });
});
