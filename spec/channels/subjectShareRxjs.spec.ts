/**
 * The cases of RxJS 7.8's own `share` spec that make sense for a connector, run with sluice's
 * Subject views in place of `new Subject()`, and with `new Subject()` itself as the control (so
 * a wrong expectation here fails for RxJS too). Written from what that spec checks, not copied.
 *
 * `broadcastSubject` takes every case: every subscriber gets every message after it joined.
 * `mpmcSubject` gives each message to one subscriber, so it takes only the one-subscriber cases.
 */
import {
  concat,
  defer,
  EMPTY,
  map,
  mergeMap,
  NEVER,
  Observable,
  of,
  pipe,
  repeat,
  retry,
  Subject,
  type SubjectLike,
  share,
  startWith,
  take,
  takeWhile,
  tap,
  toArray,
  withLatestFrom,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { broadcastSubject, mpmcSubject } from 'sluice';
import { describe, expect, it } from 'vitest';

type Connector = () => SubjectLike<string>;

const single: Array<[string, Connector]> = [
  ['new Subject()', () => new Subject<string>()],
  ['broadcastSubject(4)', () => broadcastSubject<string>(4)],
  ['broadcastSubject(1)', () => broadcastSubject<string>(1)],
  ['mpmcSubject(4)', () => mpmcSubject<string>(4)],
];
const many = single.filter(([name]) => !name.startsWith('mpmc'));

function run(fn: (h: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void): void {
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(fn);
}

describe.each(single)('share({ connector: %s }), one subscriber', (_name, connector) => {
  const shared = <T>() => share<T>({ connector: connector as unknown as () => SubjectLike<T> });

  it('mirrors a cold source and subscribes it once', () => {
    run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a--b-c---d|');
      expectObservable(source.pipe(shared())).toBe('-a--b-c---d|');
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
  });

  it('mirrors an error, and a hot source from the subscription on', () => {
    run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-x-^-a--b-#');
      expectObservable(source.pipe(shared())).toBe('--a--b-#');
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('shares empty, never and throwing sources', () => {
    run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold('|');
      const never = cold('-');
      const failing = cold('#');
      expectObservable(empty.pipe(shared())).toBe('|');
      expectObservable(never.pipe(shared())).toBe('-');
      expectObservable(failing.pipe(shared())).toBe('#');
      expectObservable(NEVER.pipe(shared())).toBe('-');
      expectObservable(EMPTY.pipe(shared())).toBe('|');
      expectSubscriptions(empty.subscriptions).toBe('(^!)');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectSubscriptions(failing.subscriptions).toBe('(^!)');
    });
  });

  it('subscribes the source once however many subscribe synchronously', () => {
    let subscriptions = 0;
    const source = new Observable<string>(() => {
      subscriptions++;
    }).pipe(shared());
    expect(subscriptions).toBe(0);
    source.subscribe();
    source.subscribe();
    expect(subscriptions).toBe(1);
  });

  it('retries and repeats through a fresh connection each time', () => {
    run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-a-b#');
      const ending = cold('-a-b|');
      expectObservable(failing.pipe(shared(), retry(1))).toBe('-a-b-a-b#');
      expectObservable(ending.pipe(shared(), repeat(2))).toBe('-a-b-a-b|');
      expectSubscriptions(failing.subscriptions).toBe(['^---!', '----^---!']);
      expectSubscriptions(ending.subscriptions).toBe(['^---!', '----^---!']);
    });
  });

  it('retries a synchronous source', () => {
    run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(ab#)');
      expectObservable(source.pipe(shared(), retry(1))).toBe('(abab#)');
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '(^!)']);
    });
  });

  it('keeps the unsubscription chain intact through operators on both sides', () => {
    run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d|');
      const result = source.pipe(
        mergeMap((x) => of(x)),
        shared(),
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
    firehose
      .pipe(share({ connector: connector as unknown as () => SubjectLike<number> }), take(3))
      .subscribe((n) => got.push(n));
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
      .pipe(
        share({
          connector: connector as unknown as () => SubjectLike<number>,
          resetOnRefCountZero: () => of(1),
        }),
        take(2),
        repeat(2),
        toArray(),
      )
      .subscribe((all) => {
        result = all;
      });
    expect(subscriptions).toBe(2);
    expect(result).toEqual([0, 1, 0, 1]);
  });

  it('without reset on error, a retry joins the connection that already failed', () => {
    run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-e-f-#');
      const result = source.pipe(
        take(2),
        share({ connector: connector as () => SubjectLike<string>, resetOnError: false }),
        repeat(),
      );
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
      const result = source.pipe(
        share({ connector: connector as () => SubjectLike<string>, resetOnRefCountZero: false }),
      );
      expectObservable(result, '^--!').toBe('-a-');
      expectSubscriptions(source.subscriptions).toBe('^--------');
    });
  });

  it('resets on refCount 0 only once the notifier emits', () => {
    run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-e-f-|');
      const once = source.pipe(
        share({
          connector: connector as () => SubjectLike<string>,
          resetOnRefCountZero: () => cold('--r'),
        }),
        take(2),
      );
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
      const op = pipe(shared<string>());
      expectObservable(one.pipe(op)).toBe('-a-b|');
      expectObservable(two.pipe(op)).toBe('-c-d|');
      expectSubscriptions(one.subscriptions).toBe('^---!');
      expectSubscriptions(two.subscriptions).toBe('^---!');
    });
  });

  it('calls the connector once per connection', () => {
    let made = 0;
    run(({ hot, expectObservable }) => {
      const source = hot('-a-b-E-c-d-C-e-f-');
      const result = source.pipe(
        tap((v) => {
          if (v === 'E') throw new Error('E');
        }),
        takeWhile((v) => v !== 'C'),
        share({
          connector: () => {
            made++;
            return (connector as () => SubjectLike<string>)();
          },
        }),
        retry(),
        repeat(),
      );
      expectObservable(result, '^----------------!').toBe('-a-b---c-d---e-f-');
    });
    expect(made).toBe(3);
  });
});

describe.each(many)('share({ connector: %s }), several subscribers', (_name, connector) => {
  const shared = () => share<string>({ connector: connector as () => SubjectLike<string> });

  it('gives later subscribers what comes after they joined, and the end', () => {
    run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('  -a-b-c----d-|');
      const result = source.pipe(shared());
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
      const result = cold('-a-b-c-#').pipe(shared());
      expectObservable(hot('x|').pipe(mergeMap(() => result))).toBe('-a-b-c-#');
      expectObservable(hot('--x|').pipe(mergeMap(() => result))).toBe('---b-c-#');
    });
  });

  it('connects with the first subscriber and disconnects with the last', () => {
    run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('     -a-b-c-d-e|');
      const result = source.pipe(shared());
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
        shared(),
      );
      expectObservable(self).toBe('(136|)');
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('without reset on complete, a later subscriber gets the completion at once', () => {
    run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b|');
      const result = source.pipe(
        share({ connector: connector as () => SubjectLike<string>, resetOnComplete: false }),
      );
      expectObservable(result).toBe('-a-b|');
      expectObservable(hot('------x|').pipe(mergeMap(() => result))).toBe('-------|');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('stops the source when every subscriber left, even with a sluice connector in between', () => {
    run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-e-');
      const result = source.pipe(shared());
      expectObservable(result, '^----!').toBe('-a-b-');
      expectObservable(result, '^------!').toBe('-a-b-c-');
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });
});
