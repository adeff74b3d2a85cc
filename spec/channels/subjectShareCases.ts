/**
 * The cases of RxJS 7.8's own `share` spec that make sense for a multicast with a connector or
 * a shared buffer, written from what that spec checks (not copied), as one suite to run
 * against `share()` itself (the control: a wrong expectation fails for RxJS too), `share` with
 * each sluice Subject view as its connector, and `shareBounded`.
 */
import {
  concat,
  defer,
  EMPTY,
  type MonoTypeOperatorFunction,
  map,
  mergeMap,
  NEVER,
  Observable,
  type ObservableInput,
  of,
  pipe,
  repeat,
  retry,
  startWith,
  take,
  toArray,
  withLatestFrom,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';

/** The reset options `share` and `shareBounded` have in common. */
export interface ResetConfig {
  readonly resetOnError?: boolean | ((error: unknown) => ObservableInput<unknown>);
  readonly resetOnComplete?: boolean | (() => ObservableInput<unknown>);
  readonly resetOnRefCountZero?: boolean | (() => ObservableInput<unknown>);
}

/** Makes the multicast operator under test. */
export type Multicast = <T>(config?: ResetConfig) => MonoTypeOperatorFunction<T>;

export function run(fn: (h: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void): void {
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(fn);
}

/** Cases with one subscriber at a time. */
export function oneSubscriberCases(title: string, make: Multicast): void {
  describe(`${title}, one subscriber`, () => {
    it('mirrors a cold source and subscribes it once', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a--b-c---d|');
        expectObservable(source.pipe(make())).toBe('-a--b-c---d|');
        expectSubscriptions(source.subscriptions).toBe('^----------!');
      });
    });

    it('mirrors an error, and a hot source from the subscription on', () => {
      run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-x-^-a--b-#');
        expectObservable(source.pipe(make())).toBe('--a--b-#');
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('shares empty, never and throwing sources', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold('|');
        const never = cold('-');
        const failing = cold('#');
        expectObservable(empty.pipe(make())).toBe('|');
        expectObservable(never.pipe(make())).toBe('-');
        expectObservable(failing.pipe(make())).toBe('#');
        expectObservable(NEVER.pipe(make())).toBe('-');
        expectObservable(EMPTY.pipe(make())).toBe('|');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(failing.subscriptions).toBe('(^!)');
      });
    });

    it('subscribes the source once however many subscribe synchronously', () => {
      let subscriptions = 0;
      const source = new Observable<string>(() => {
        subscriptions++;
      }).pipe(make());
      expect(subscriptions).toBe(0);
      source.subscribe();
      source.subscribe();
      expect(subscriptions).toBe(1);
    });

    it('retries and repeats through a fresh connection each time', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold('-a-b#');
        const ending = cold('-a-b|');
        expectObservable(failing.pipe(make(), retry(1))).toBe('-a-b-a-b#');
        expectObservable(ending.pipe(make(), repeat(2))).toBe('-a-b-a-b|');
        expectSubscriptions(failing.subscriptions).toBe(['^---!', '----^---!']);
        expectSubscriptions(ending.subscriptions).toBe(['^---!', '----^---!']);
      });
    });

    it('retries a synchronous source', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('(ab#)');
        expectObservable(source.pipe(make(), retry(1))).toBe('(abab#)');
        expectSubscriptions(source.subscriptions).toBe(['(^!)', '(^!)']);
      });
    });

    it('keeps the unsubscription chain intact through operators on both sides', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b-c-d|');
        const result = source.pipe(
          mergeMap((x) => of(x)),
          make(),
          mergeMap((x) => of(x)),
        );
        expectObservable(result, '----!').toBe('-a-b');
        expectSubscriptions(source.subscriptions).toBe('^---!');
      });
    });

    it('stops a synchronous source as soon as take(n) has enough', () => {
      const produced: number[] = [];
      const firehose = new Observable<number>((subscriber) => {
        for (let i = 0; i < 10 && !subscriber.closed; i++) {
          produced.push(i);
          subscriber.next(i);
        }
      });
      const got: number[] = [];
      firehose.pipe(make<number>(), take(3)).subscribe((n) => got.push(n));
      expect(got).toEqual([0, 1, 2]);
      expect(produced).toEqual([0, 1, 2]);
    });

    it('resubscribes a synchronous firehose after take(n) reset the share', () => {
      let subscriptions = 0;
      const firehose = new Observable<number>((subscriber) => {
        subscriptions++;
        for (let i = 0; i < 3 && !subscriber.closed; i++) subscriber.next(i);
        if (!subscriber.closed) subscriber.complete();
      });
      let result: number[] = [];
      firehose
        .pipe(make<number>({ resetOnRefCountZero: () => of(1) }), take(2), repeat(2), toArray())
        .subscribe((all) => {
          result = all;
        });
      expect(subscriptions).toBe(2);
      expect(result).toEqual([0, 1, 0, 1]);
    });

    it('without reset on error, a retry joins the connection that already failed', () => {
      run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e-f-#');
        const result = source.pipe(take(2), make<string>({ resetOnError: false }), repeat());
        expectObservable(result).toBe('-a-b-c-d-e-f-#');
        expectSubscriptions(source.subscriptions).toBe([
          '^--!          ',
          '---^---!      ',
          '-------^---!  ',
          '-----------^-!',
        ]);
      });
    });

    it('without reset on refCount 0, the source stays subscribed after the last subscriber left', () => {
      run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-');
        const result = source.pipe(make<string>({ resetOnRefCountZero: false }));
        expectObservable(result, '^--!').toBe('-a-');
        expectSubscriptions(source.subscriptions).toBe('^--------');
      });
    });

    it('resets on refCount 0 only once the notifier emits', () => {
      run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e-f-|');
        const once = source.pipe(make<string>({ resetOnRefCountZero: () => cold('--r') }), take(2));
        // The second take(2) joins while the notifier still waits: same connection. The third
        // comes after it fired (frame 9): the source was dropped and is subscribed again.
        const result = concat(once, cold('-|'), once, cold('---|'), once);
        expectObservable(result).toBe('-a-b-c-d---f-|');
        expectSubscriptions(source.subscriptions).toBe(['^--------!    ', '----------^--!']);
      });
    });

    it('is referentially transparent: one operator, two sources, two connections', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const one = cold('-a-b|');
        const two = cold('-c-d|');
        const op = pipe(make<string>());
        expectObservable(one.pipe(op)).toBe('-a-b|');
        expectObservable(two.pipe(op)).toBe('-c-d|');
        expectSubscriptions(one.subscriptions).toBe('^---!');
        expectSubscriptions(two.subscriptions).toBe('^---!');
      });
    });
  });
}

/** Cases where several subscribers each get every message. */
export function severalSubscriberCases(title: string, make: Multicast): void {
  describe(`${title}, several subscribers`, () => {
    it('gives later subscribers what comes after they joined, and the end', () => {
      run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const source = cold('  -a-b-c----d-|');
        const result = source.pipe(make());
        const first = hot('    x|');
        const second = hot('   ----x|');
        const third = hot('    --------x|');
        expectObservable(first.pipe(mergeMap(() => result))).toBe('-a-b-c----d-|');
        expectObservable(second.pipe(mergeMap(() => result))).toBe('-----c----d-|');
        expectObservable(third.pipe(mergeMap(() => result))).toBe('----------d-|');
        expectSubscriptions(source.subscriptions).toBe('^-----------!');
      });
    });

    it('shares an error with every subscriber', () => {
      run(({ cold, hot, expectObservable }) => {
        const result = cold('-a-b-c-#').pipe(make());
        expectObservable(hot('x|').pipe(mergeMap(() => result))).toBe('-a-b-c-#');
        expectObservable(hot('--x|').pipe(mergeMap(() => result))).toBe('---b-c-#');
      });
    });

    it('connects with the first subscriber and disconnects with the last', () => {
      run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const source = cold('     -a-b-c-d-e|');
        const result = source.pipe(make());
        const first = hot('    --x|');
        const second = hot('   ------x|');
        expectObservable(first.pipe(mergeMap(() => result)), '--------!').toBe('---a-b-c');
        expectObservable(second.pipe(mergeMap(() => result)), '----------!').toBe('-------c-d');
        expectSubscriptions(source.subscriptions).toBe('--^-------!');
      });
    });

    it('tolerates a subscription to itself made while connecting', () => {
      run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('(123|)');
        const self: Observable<string> = source.pipe(
          withLatestFrom(defer(() => self).pipe(startWith('0'))),
          map(([a, b]) => String(Number(a) + Number(b))),
          make(),
        );
        expectObservable(self).toBe('(136|)');
        expectSubscriptions(source.subscriptions).toBe('(^!)');
      });
    });

    it('without reset on complete, a later subscriber gets the completion at once', () => {
      run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-b|');
        const result = source.pipe(make<string>({ resetOnComplete: false }));
        expectObservable(result).toBe('-a-b|');
        expectObservable(hot('------x|').pipe(mergeMap(() => result))).toBe('-------|');
        expectSubscriptions(source.subscriptions).toBe('^---!');
      });
    });

    it('stops the source when every subscriber left, whatever sits in between', () => {
      run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-c-d-e-');
        const result = source.pipe(make());
        expectObservable(result, '^----!').toBe('-a-b-');
        expectObservable(result, '^------!').toBe('-a-b-c-');
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });
  });
}
