import {
  config,
  connectable,
  defer,
  firstValueFrom,
  from,
  map,
  mergeMap,
  ObjectUnsubscribedError,
  type Observable,
  Subject,
  share,
  timer,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  broadcastSubject,
  ChannelClosedError,
  ChannelFullError,
  mpmcSubject,
  oneshotSubject,
  watchSubject,
  workerPool,
} from 'sluice';
import { describe, expect, it, vi } from 'vitest';
import { type Demand, isPullable, type Pullable, pull } from '../../src/internal/demand.js';

function marbles(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A pull reader as workerPool opens one, recording what reaches it. */
function puller<T>(source: Observable<T>) {
  const got: T[] = [];
  const log: string[] = [];
  const demand: Demand = (source as unknown as Pullable<T>)[pull]({
    next: (v) => got.push(v),
    error: (e) => log.push(`error:${e instanceof Error ? e.message : String(e)}`),
    complete: () => log.push('complete'),
  });
  return { got, log, demand };
}

/** Each kind, made so that a `next('x')` is accepted. */
const kinds: Array<[string, () => Subject<string>]> = [
  ['broadcastSubject', () => broadcastSubject<string>(4)],
  ['watchSubject', () => watchSubject<string>('initial')],
  ['mpmcSubject', () => mpmcSubject<string>(4)],
  ['oneshotSubject', () => oneshotSubject<string>()],
];

describe.each(kinds)('%s follows the Subject rules', (_name, make) => {
  it('is a Subject: assignable, instanceof, pipeable, demand-aware', () => {
    const subject: Subject<string> = make();
    expect(subject).toBeInstanceOf(Subject);
    expect(isPullable(subject)).toBe(true);
    expect(isPullable(subject.asObservable())).toBe(true);
    const got: string[] = [];
    subject.pipe(map((s) => s.toUpperCase())).subscribe((s) => got.push(s));
    subject.next('x');
    expect(got.at(-1)).toBe('X');
  });

  it('ignores next, error and complete after complete', () => {
    const subject = make();
    const log: string[] = [];
    subject.complete();
    subject.next('late');
    subject.error(new Error('late'));
    subject.complete();
    subject.subscribe({
      next: (v) => log.push(v),
      error: () => log.push('error'),
      complete: () => log.push('complete'),
    });
    expect(log).toEqual(['complete']);
    expect(subject.isStopped).toBe(true);
    expect(subject.hasError).toBe(false);
  });

  it('gives a reader that comes after error(e) the error at once, and ignores later calls', () => {
    const subject = make();
    const boom = new Error('boom');
    subject.error(boom);
    subject.next('late');
    subject.complete();
    const errors: unknown[] = [];
    subject.subscribe({ error: (e) => errors.push(e) });
    const reader = puller(subject);
    expect(errors).toEqual([boom]);
    expect(reader.log).toEqual(['error:boom']);
    expect(subject.thrownError).toBe(boom);
  });

  it('throws ObjectUnsubscribedError after unsubscribe()', () => {
    const subject = make();
    subject.unsubscribe();
    expect(subject.closed).toBe(true);
    expect(() => subject.next('x')).toThrow(ObjectUnsubscribedError);
    expect(() => subject.error(new Error())).toThrow(ObjectUnsubscribedError);
    expect(() => subject.complete()).toThrow(ObjectUnsubscribedError);
    expect(() => subject.subscribe()).toThrow(ObjectUnsubscribedError);
  });

  it('is observed while a subscription or pull reader is there', () => {
    const subject = make();
    expect(subject.observed).toBe(false);
    const sub = subject.subscribe();
    const reader = puller(subject);
    expect(subject.observed).toBe(true);
    sub.unsubscribe();
    expect(subject.observed).toBe(true);
    reader.demand.cancel();
    expect(subject.observed).toBe(false);
  });

  it('counts a reader out once it ended', () => {
    const subject = make();
    subject.subscribe();
    subject.complete();
    expect(subject.observed).toBe(false);
  });
});

describe('broadcastSubject', () => {
  it('rejects bad arguments, naming broadcastSubject', () => {
    expect(() => broadcastSubject(0)).toThrow(
      new RangeError('broadcastSubject: capacity must be a whole number >= 1, got 0'),
    );
    expect(() => broadcastSubject(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => broadcastSubject(1, { lag: 'drop' as never })).toThrow(
      new TypeError(`broadcastSubject: lag must be one of 'skip', 'error', got "drop"`),
    );
    expect(() => broadcastSubject(1, { onLag: 1 as never })).toThrow(TypeError);
  });

  it('counts what it sent while nobody listened, like the channel', () => {
    const subject = broadcastSubject<number>(2);
    subject.next(1);
    const got: number[] = [];
    subject.subscribe((n) => got.push(n));
    subject.next(2);
    expect(got).toEqual([2]);
    expect([subject.sent, subject.received, subject.unreceived]).toEqual([2, 1, 1]);
    expect(subject.receiverCount).toBe(1);
    expect(subject.size).toBe(0); // plain subscribers hold nothing
    expect(subject.allocatedSlots).toBe(0);
  });

  it('lets a slow pull reader lag behind connectable subscribers, and reports how many it missed', () => {
    const skips: number[] = [];
    const subject = broadcastSubject<string>(2, { onLag: (n) => skips.push(n) });
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('a-b-c-d-e-f-|');
      const shared = connectable(source, { connector: () => subject });
      const slow = subject.pipe(
        workerPool((job: string) => timer(7).pipe(map(() => job)), { concurrency: 1 }),
      );
      expectObservable(shared).toBe('a-b-c-d-e-f-|');
      expectObservable(slow).toBe('-------a------c------e------(f|)');
      expectSubscriptions(source.subscriptions).toBe('^-----------!');
      shared.connect();
    });
    expect(skips).toEqual([1, 1]); // b, then d, were overwritten before the worker asked
    expect(subject.lagged).toBe(2);
    expect(subject.size).toBe(0);
  });

  it('behind share: the connector made for the connection lags its own slow reader, counted', () => {
    const made: Array<ReturnType<typeof broadcastSubject<string>>> = [];
    marbles().run(({ hot, expectObservable }) => {
      const shared = hot('a-b-c-d-e-f-|').pipe(
        share({
          connector: () => {
            const subject = broadcastSubject<string>(2);
            made.push(subject);
            return subject;
          },
        }),
      );
      expectObservable(shared).toBe('a-b-c-d-e-f-|');
      // the pool reads the Subject itself (not defer's output, which would hide its demand)
      const slowReader = defer(() =>
        made[0]!.pipe(
          workerPool((job: string) => timer(7).pipe(map(() => job)), { concurrency: 1 }),
        ),
      );
      expectObservable(slowReader).toBe('-------a------c------e------(f|)');
    });
    expect(made).toHaveLength(1);
    expect(made[0]?.lagged).toBe(2);
    expect(made[0]?.received).toBe(6 + 4);
  });

  it('a throwing onLag fails that pull reader only', () => {
    const subject = broadcastSubject<number>(1, {
      onLag: () => {
        throw new Error('reporter failed');
      },
    });
    const reader = puller(subject);
    const got: number[] = [];
    subject.subscribe((n) => got.push(n));
    subject.next(1);
    subject.next(2);
    reader.demand.request(1);
    expect(reader.log).toEqual(['error:reporter failed']);
    subject.next(3);
    expect(got).toEqual([1, 2, 3]);
    expect(subject.observed).toBe(true);
  });

  it('keeps capacity messages for any number of slow readers', () => {
    const subject = broadcastSubject<number>(3);
    const readers = Array.from({ length: 50 }, () => puller(subject));
    for (let i = 0; i < 100; i++) subject.next(i);
    expect(subject.size).toBe(3);
    readers[0]?.demand.request(10);
    expect(readers[0]?.got).toEqual([97, 98, 99]);
    expect(subject.lagged).toBe(97);
    for (const r of readers) r.demand.cancel();
    expect(subject.size).toBe(0);
  });

  it('ends a pull reader after what it has not read yet, and a late one at once', () => {
    const subject = broadcastSubject<number>(4);
    const reader = puller(subject);
    subject.next(1);
    subject.next(2);
    subject.error(new Error('stop'));
    expect(reader.log).toEqual([]);
    reader.demand.request(5);
    expect(reader.got).toEqual([1, 2]);
    expect(reader.log).toEqual(['error:stop']);
  });

  it('behind share: late subscribers start at the next message; the source resets at refCount 0', () => {
    let made = 0;
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-e-f-g-');
      const shared = source.pipe(
        share({
          connector: () => {
            made++;
            return broadcastSubject<string>(2);
          },
        }),
      );
      expectObservable(shared, '^------!').toBe('-a-b-c-');
      expectObservable(shared, '--^--!').toBe('---b-');
      expectObservable(shared, '----------^---!').toBe('-----------f-g');
      expectSubscriptions(source.subscriptions).toBe(['^------!', '----------^---!']);
    });
    expect(made).toBe(2);
  });
});

describe('watchSubject', () => {
  it('behind share: the current value first, then changes; only the end after the end', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a---b--|');
      const shared = source.pipe(
        share({ connector: () => watchSubject('i'), resetOnComplete: false }),
      );
      expectObservable(shared).toBe('i-a---b--|');
      expectObservable(hot('----x|').pipe(mergeMap(() => shared))).toBe('----a-b--|');
      expectObservable(hot('-----------x|').pipe(mergeMap(() => shared))).toBe('------------|');
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('behind share: a reset at refCount 0 starts again from the initial value', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--c--');
      const shared = source.pipe(share({ connector: () => watchSubject('i') }));
      expectObservable(shared, '^---!').toBe('i-a-');
      expectObservable(shared, '------^----!').toBe('------i-c--');
      expectSubscriptions(source.subscriptions).toBe(['^---!', '------^----!']);
    });
  });

  it('holds the value like BehaviorSubject: value, getValue, and the error', () => {
    const subject = watchSubject(1);
    subject.next(2);
    expect(subject.value).toBe(2);
    expect(subject.getValue()).toBe(2);
    const boom = new Error('boom');
    subject.error(boom);
    expect(() => subject.getValue()).toThrow(boom);
    const other = watchSubject(1);
    other.unsubscribe();
    expect(() => other.value).toThrow(ObjectUnsubscribedError);
  });

  it('hands out receivers that remember what they have seen', async () => {
    const subject = watchSubject('a');
    const reader = subject.receiver();
    expect(reader.hasChanged).toBe(false);
    subject.next('b');
    subject.next('c');
    expect(reader.hasChanged).toBe(true);
    await reader.changed();
    expect(reader.borrow()).toBe('c');
    expect(reader.hasChanged).toBe(false);
    subject.complete();
    await expect(reader.changed()).rejects.toBeInstanceOf(ChannelClosedError);
    reader.close();
  });

  it('conflates for a pull reader that is busy, counting what it never saw', () => {
    const subject = watchSubject(0);
    const reader = puller(subject);
    reader.demand.request(1);
    for (let i = 1; i <= 5; i++) subject.next(i);
    reader.demand.request(1);
    expect(reader.got).toEqual([0, 5]);
    expect(subject.dropped).toBe(4);
    expect(subject.sent).toBe(5);
  });
});

describe('mpmcSubject', () => {
  it('rejects bad arguments, naming mpmcSubject', () => {
    expect(() => mpmcSubject(0)).toThrow(
      new RangeError('mpmcSubject: capacity must be a whole number >= 1 or Infinity, got 0'),
    );
    expect(() => mpmcSubject(1, { overflow: 'spill' as never })).toThrow(TypeError);
  });

  it('behind connectable: each message to one subscriber, taking turns', () => {
    marbles().run(({ hot, expectObservable }) => {
      const source = hot('-a-b-c-d-|');
      const jobs = connectable(source, { connector: () => mpmcSubject<string>(4) });
      expectObservable(jobs).toBe('-a---c---|');
      expectObservable(jobs).toBe('---b---d-|');
      jobs.connect();
    });
  });

  it('keeps messages nobody could take yet for the first subscriber, and for one after the end', () => {
    const jobs = mpmcSubject<number>(4);
    jobs.next(1);
    jobs.next(2);
    const first: number[] = [];
    jobs.subscribe((n) => first.push(n));
    expect(first).toEqual([1, 2]);
    const sub = jobs.subscribe(); // not taking part any more after unsubscribe
    sub.unsubscribe();
    first.length = 0;
    const lone = mpmcSubject<number>(4);
    lone.next(3);
    lone.complete();
    const late: string[] = [];
    lone.subscribe({ next: (n) => late.push(String(n)), complete: () => late.push('|') });
    expect(late).toEqual(['3', '|']);
  });

  it('keeps the overflow rules of the channel: a push that overflows fails it, drop reports', async () => {
    const strict = mpmcSubject<number>(1);
    strict.next(1);
    expect(() => strict.next(2)).not.toThrow(); // a push source cannot wait: the channel fails
    const seen: number[] = [];
    const failure = await new Promise((resolve) =>
      strict.subscribe({ next: (n) => seen.push(n), error: resolve }),
    );
    expect(seen).toEqual([1]); // what was buffered first
    expect(failure).toBeInstanceOf(ChannelFullError);
    expect((failure as ChannelFullError<number>).value).toBe(2);

    const dropped: number[] = [];
    const lossy = mpmcSubject<number>(1, { overflow: 'drop', onOverflow: (n) => dropped.push(n) });
    lossy.next(1);
    lossy.next(2);
    expect(dropped).toEqual([2]);
    expect([lossy.size, lossy.sent, lossy.dropped, lossy.capacity]).toEqual([1, 1, 1, 1]);
  });

  it('behind connectable, a message that does not fit fails the channel loudly, never quietly', () => {
    vi.useFakeTimers();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (e) => unhandled.push(e);
    try {
      const subject = mpmcSubject<number>(2);
      const jobs = connectable(from([1, 2, 3, 4]), { connector: () => subject });
      jobs.connect(); // nobody takes them: 1 and 2 are buffered, 3 does not fit
      vi.runAllTimers();
      expect(unhandled).toEqual([]); // nothing thrown into the source
      const seen: number[] = [];
      let failure: unknown;
      subject.subscribe({ next: (n) => seen.push(n), error: (e: unknown) => (failure = e) });
      expect(seen).toEqual([1, 2]);
      expect(failure).toBeInstanceOf(ChannelFullError);
      expect((failure as ChannelFullError<number>).value).toBe(3);
    } finally {
      config.onUnhandledError = null;
      vi.useRealTimers();
    }
  });

  it('competes with a demand-aware reader of the Subject: a busy worker is skipped', () => {
    marbles().run(({ hot, expectObservable }) => {
      const subject = mpmcSubject<string>(4);
      const jobs = connectable(hot<string>('-a-b-c-d-e-f-|'), { connector: () => subject });
      const worker = subject.pipe(
        workerPool((job: string) => timer(5).pipe(map(() => job.toUpperCase())), {
          concurrency: 1,
        }),
      );
      // The worker takes a, is busy while b and c come, takes d, is busy for e and f.
      expectObservable(worker).toBe('------A-----D|');
      expectObservable(jobs).toBe('---b-c---e-f-|');
      jobs.connect();
    });
  });
});

describe('oneshotSubject', () => {
  it('behind share: subscribers get the first value with completion, and the source is let go', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--|');
      const shared = source.pipe(share({ connector: () => oneshotSubject<string>() }));
      expectObservable(shared).toBe('--(a|)');
      expectObservable(shared).toBe('--(a|)');
      expectObservable(hot('----x|').pipe(mergeMap(() => shared))).toBe('-----(b|)');
      expectSubscriptions(source.subscriptions).toBe(['^-!', '----^!']);
    });
  });

  it('completes empty without a value, like AsyncSubject, and errors with the error', () => {
    marbles().run(({ cold, expectObservable }) => {
      expectObservable(cold('---|').pipe(share({ connector: () => oneshotSubject() }))).toBe(
        '---|',
      );
      expectObservable(cold('--#').pipe(share({ connector: () => oneshotSubject() }))).toBe('--#');
    });
  });

  it('behind connectable: a later subscriber gets the value at once', () => {
    marbles().run(({ hot, expectObservable }) => {
      const answer = connectable(hot<string>('--a--|'), {
        connector: () => oneshotSubject<string>(),
      });
      expectObservable(answer).toBe('--(a|)');
      expectObservable(hot('----x|').pipe(mergeMap(() => answer))).toBe('----a|');
      answer.connect();
    });
  });

  it('refuses a second value loudly, and ignores error after the value', async () => {
    const subject = oneshotSubject<number>();
    subject.next(1);
    expect(subject.hasValue).toBe(true);
    expect(() => subject.next(2)).toThrow(ChannelClosedError);
    subject.error(new Error('too late'));
    expect(await firstValueFrom(subject)).toBe(1);
    const empty = oneshotSubject<number>();
    empty.complete();
    const log: string[] = [];
    empty.subscribe({ next: () => log.push('next'), complete: () => log.push('complete') });
    const reader = puller(empty);
    reader.demand.request(1);
    expect(log).toEqual(['complete']);
    expect(reader.log).toEqual(['complete']);
  });
});
