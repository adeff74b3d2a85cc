import fc from 'fast-check';
import { mergeMap, Observable, of, type SchedulerLike, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { dedupe } from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A clock the test moves by hand. */
function manualClock(): SchedulerLike & { time: number } {
  const clock = {
    time: 0,
    now: () => clock.time,
    schedule: () => {
      throw new Error('dedupe must not schedule anything');
    },
  };
  return clock as unknown as SchedulerLike & { time: number };
}

describe('dedupe: marble tests', () => {
  it('drops a key seen within ttl, passes it again once ttl has run out', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-a-----a-|');
      expectObservable(source.pipe(dedupe({ ttl: 6 }))).toBe('a-b-------a-|');
      expectSubscriptions(source.subscriptions).toBe('^-----------!');
    });
  });

  it('a message exactly ttl after the first passes; one frame earlier it does not', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a----a|').pipe(dedupe({ ttl: 5 }))).toBe('a----a|');
      expectObservable(cold('a---a|').pipe(dedupe({ ttl: 5 }))).toBe('a----|');
    });
  });

  it('duplicates do not extend the window', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // a at 0 passes; a at 3 and 5 are dropped; a at 6 passes (6 after the first)
      expectObservable(cold('a--a-aa|').pipe(dedupe({ ttl: 6 }))).toBe('a-----a|');
    });
  });

  it('maxKeys evicts the oldest key first, so its duplicate passes again', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcab|');
      // c evicts a (maxKeys 2): a passes again and evicts b, which then passes too
      expectObservable(source.pipe(dedupe({ maxKeys: 2, ttl: 100 }))).toBe('abcab|');
      expectObservable(cold('abab|').pipe(dedupe({ maxKeys: 2, ttl: 100 }))).toBe('ab--|');
    });
  });

  it('keys by a key function and reports each duplicate with its key', () => {
    const duplicates: Array<[string, number]> = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const values = {
        a: { id: 1, v: 'a' },
        b: { id: 2, v: 'b' },
        c: { id: 1, v: 'c' },
      };
      const output = cold('abc|', values).pipe(
        dedupe({
          key: (m) => m.id,
          onDuplicate: (m, key) => duplicates.push([m.v, key]),
        }),
      );
      expectObservable(output).toBe('ab-|', values);
    });
    expect(duplicates).toEqual([['c', 1]]);
  });

  it('empty completes, never stays silent, a source error passes through', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('|').pipe(dedupe())).toBe('|');
      const never = cold('-');
      expectObservable(never.pipe(dedupe())).toBe('-');
      expectSubscriptions(never.subscriptions).toBe('^');
      expectObservable(cold('aa#').pipe(dedupe())).toBe('a-#');
    });
  });

  it('a throwing key or onDuplicate fails the output and unsubscribes the source', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('ab-c|');
      const key = (m: string) => {
        if (m === 'b') throw new Error('bad key');
        return m;
      };
      expectObservable(source.pipe(dedupe({ key }))).toBe('a#', undefined, new Error('bad key'));
      const twice = cold('aa-a|');
      const onDuplicate = () => {
        throw new Error('bad hook');
      };
      expectObservable(twice.pipe(dedupe({ onDuplicate }))).toBe(
        'a#',
        undefined,
        new Error('bad hook'),
      );
      expectSubscriptions(source.subscriptions).toBe('^!');
      expectSubscriptions(twice.subscriptions).toBe('^!');
    });
  });

  it('early unsubscribe keeps the chain intact', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-a-c-|');
      const output = source.pipe(
        mergeMap((x) => of(x)),
        dedupe(),
        mergeMap((x) => of(x)),
      );
      expectObservable(output, '------!').toBe('-a-b--');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    const seen: number[] = [];
    const firehose = new Observable<number>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 1000; i++) {
        seen.push(i);
        subscriber.next(i % 2 === 0 ? i : i - 1); // every odd one duplicates its predecessor
      }
    });
    const out: number[] = [];
    firehose.pipe(dedupe(), take(3)).subscribe((v) => out.push(v));
    expect(out).toEqual([0, 2, 4]);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('each subscription has its own window', () => {
    const subject = new Subject<string>();
    const deduped = subject.pipe(dedupe());
    const first: string[] = [];
    const second: string[] = [];
    const sub = deduped.subscribe((v) => first.push(v));
    subject.next('a');
    sub.unsubscribe();
    deduped.subscribe((v) => second.push(v));
    subject.next('a');
    subject.next('a');
    expect(first).toEqual(['a']);
    expect(second).toEqual(['a']);
  });

  it('uses no timer: only the clock of the scheduler', () => {
    const clock = manualClock();
    const subject = new Subject<number>();
    const out: number[] = [];
    subject.pipe(dedupe({ ttl: 10, scheduler: clock })).subscribe((v) => out.push(v));
    subject.next(1);
    clock.time = 9;
    subject.next(1);
    clock.time = 10;
    subject.next(1);
    expect(out).toEqual([1, 1]);
  });

  it('rejects bad options at the call, naming them', () => {
    expect(() => dedupe({ ttl: -1 })).toThrow(
      new RangeError('dedupe: ttl must be a number of milliseconds >= 0 or Infinity, got -1'),
    );
    expect(() => dedupe({ maxKeys: 0 })).toThrow(
      new RangeError('dedupe: maxKeys must be a whole number >= 1 or Infinity, got 0'),
    );
    expect(() => dedupe({ key: 'id' as never })).toThrow(
      new TypeError('dedupe: key must be a function, got "id"'),
    );
    expect(() => dedupe({ onDuplicate: 1 as never })).toThrow(TypeError);
    expect(() => dedupe({ scheduler: {} as never })).toThrow(TypeError);
    expect(() => dedupe(null as never)).toThrow(TypeError);
  });
});

describe('dedupe: property', () => {
  it('agrees with a plain reference model of the window', () => {
    const event = fc.record({ key: fc.integer({ min: 0, max: 6 }), gap: fc.nat({ max: 5 }) });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (events, ttl, maxKeys) => {
          const clock = manualClock();
          const subject = new Subject<number>();
          const out: number[] = [];
          subject.pipe(dedupe({ ttl, maxKeys, scheduler: clock })).subscribe((v) => out.push(v));
          // reference: remembered keys with the time they passed, oldest first
          let remembered: Array<{ key: number; at: number }> = [];
          const expected: number[] = [];
          for (const { key, gap } of events) {
            clock.time += gap;
            subject.next(key);
            remembered = remembered.filter((r) => clock.time - r.at < ttl);
            if (remembered.some((r) => r.key === key)) continue;
            remembered.push({ key, at: clock.time });
            if (remembered.length > maxKeys) remembered.shift();
            expected.push(key);
          }
          expect(out).toEqual(expected);
        },
      ),
    );
  });
});
