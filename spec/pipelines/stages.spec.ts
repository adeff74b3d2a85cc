/**
 * Two sluice stages in a row, deterministically: each pair at 100k messages from `fromIterable`
 * in virtual time (no ChannelFullError, everything delivered in the expected order, the bound
 * held at every step), a filter that drops almost everything, a `delay` that cannot carry
 * demand, and marble tests of what each stage asks of its upstream as its downstream's demand
 * changes, with subscription logs.
 */
import {
  defer,
  delay,
  distinctUntilChanged,
  filter,
  type MonoTypeOperatorFunction,
  map,
  type Observable,
  type OperatorFunction,
  of,
  pairwise,
  scan,
  skip,
  startWith,
  take,
  takeWhile,
  tap,
  timer,
  withLatestFrom,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  atLeastOnce,
  bounded,
  ChannelFullError,
  dedupe,
  fromIterable,
  idempotent,
  MessageQueue,
  workerPool,
} from '../../src/index.js';
import { ManualClock } from '../queue/manualClock.js';
import {
  AheadMeter,
  isDemandAware,
  LoggingConsumer,
  LoggingSource,
  subscriptionLog,
} from '../support/demand.js';

/** Overshoot allowed beyond Σ(capacity + concurrency). */
const SLACK = 4;
const N = 100_000;

/** `fromIterable` over 0..count-1, counting each pull into `meter`. */
function counted(count: number, meter: AheadMeter): Observable<number> {
  return fromIterable({
    *[Symbol.iterator]() {
      for (let i = 0; i < count; i++) {
        meter.enter();
        yield i;
      }
    },
  });
}

/** A job of `frames` virtual frames answering `value`. */
const work =
  (clock: ManualClock, frames: number) =>
  <T>(value: T): Observable<T> =>
    timer(frames, clock).pipe(map(() => value));

interface Run {
  readonly output: number[];
  readonly error: unknown;
  readonly completed: boolean;
}

/** Subscribes, runs the clock until nothing is left, and reports. */
function run(stream: Observable<number>, clock: ManualClock, meter: AheadMeter): Run {
  const output: number[] = [];
  let error: unknown;
  let completed = false;
  stream.subscribe({
    next: (v) => {
      output.push(v);
      meter.leave();
    },
    error: (e: unknown) => {
      error = e;
    },
    complete: () => {
      completed = true;
    },
  });
  clock.runAll();
  return { output, error, completed };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('two stages in a row, 100k messages from fromIterable', () => {
  const pairs: {
    name: string;
    bound: number;
    build: (source: Observable<number>, clock: ManualClock) => Observable<number>;
  }[] = [
    {
      name: 'workerPool(8) → workerPool(2)',
      bound: 8 + 16 + 2 + 16,
      build: (source, clock) =>
        source.pipe(
          workerPool(work(clock, 1), { concurrency: 8, capacity: 16, ordered: true }),
          workerPool(work(clock, 3), { concurrency: 2, capacity: 16, ordered: true }),
        ),
    },
    {
      name: 'workerPool(8) → map → atLeastOnce(2)',
      bound: 8 + 16 + 2 + 16,
      build: (source, clock) =>
        source.pipe(
          workerPool(work(clock, 1), { concurrency: 8, capacity: 16, ordered: true }),
          map((n) => n * 10),
          atLeastOnce(work(clock, 3), { concurrency: 2, capacity: 16, scheduler: clock }),
          map((delivered) => delivered.message / 10),
        ),
    },
    {
      name: 'atLeastOnce(4) → workerPool(2)',
      bound: 4 + 16 + 2 + 16,
      build: (source, clock) =>
        source.pipe(
          atLeastOnce(work(clock, 1), { concurrency: 4, capacity: 16, scheduler: clock }),
          map((delivered) => delivered.message),
          workerPool(work(clock, 3), { concurrency: 2, capacity: 16, ordered: true }),
        ),
    },
    {
      name: 'idempotent(4) → workerPool(2)',
      bound: 4 + 16 + 2 + 16,
      build: (source, clock) =>
        source.pipe(
          idempotent(work(clock, 1), { concurrency: 4, capacity: 16, scheduler: clock }),
          map((outcome) => outcome.message),
          workerPool(work(clock, 3), { concurrency: 2, capacity: 16, ordered: true }),
        ),
    },
    {
      name: 'workerPool(8) → bounded(32) → workerPool(2)',
      bound: 8 + 16 + 32 + 2 + 16,
      build: (source, clock) =>
        source.pipe(
          workerPool(work(clock, 1), { concurrency: 8, capacity: 16, ordered: true }),
          bounded(32),
          workerPool(work(clock, 3), { concurrency: 2, capacity: 16, ordered: true }),
        ),
    },
  ];

  for (const { name, bound, build } of pairs) {
    it(`${name}: no overflow, all in order, bound ${bound} + ${SLACK} held`, () => {
      const clock = new ManualClock();
      const meter = new AheadMeter(bound + SLACK);
      const result = run(build(counted(N, meter), clock), clock, meter);
      expect(result.error).toBeUndefined();
      expect(result.completed).toBe(true);
      expect(result.output.length).toBe(N);
      // equal work durations and first-in-first-out timers: the input order comes out
      expect(result.output).toEqual(range(N));
      expect(meter.violation).toBeUndefined();
      expect(meter.max).toBeLessThanOrEqual(bound + SLACK);
    });
  }

  it('a filter dropping 99% between two pools never starves the second, and still carries demand', () => {
    const clock = new ManualClock();
    const meter = new AheadMeter(8 + 8 + 1 + 8 + SLACK);
    const dropped = { count: 0 };
    // the first pool outruns the second 4:1 even after the filter: only demand keeps the bound
    const result = run(
      counted(N, meter).pipe(
        workerPool(work(clock, 1), { concurrency: 8, capacity: 8 }),
        filter((n) => {
          if (n % 100 === 0) return true;
          dropped.count++;
          meter.leave();
          return false;
        }),
        workerPool(work(clock, 50), { concurrency: 1, capacity: 8, ordered: true }),
      ),
      clock,
      meter,
    );
    expect(result.error).toBeUndefined();
    expect(result.completed).toBe(true);
    expect(result.output).toEqual(range(N / 100).map((k) => k * 100));
    expect(dropped.count).toBe(N - N / 100);
    expect(meter.violation).toBeUndefined();
  });

  it('a filter dropping everything still lets the pipeline complete', () => {
    const clock = new ManualClock();
    const meter = new AheadMeter(2 + 4 + 1 + 4 + SLACK);
    const result = run(
      counted(10_000, meter).pipe(
        workerPool(work(clock, 1), { concurrency: 2, capacity: 4 }),
        filter(() => {
          meter.leave();
          return false;
        }),
        workerPool(work(clock, 1), { concurrency: 1, capacity: 4 }),
      ),
      clock,
      meter,
    );
    expect(result).toEqual({ output: [], error: undefined, completed: true });
    expect(meter.entered).toBe(10_000);
    expect(meter.violation).toBeUndefined();
  });

  it('delay between stages cannot carry demand: the next stage fails visibly, carrying the message', () => {
    const clock = new ManualClock();
    const meter = new AheadMeter(Number.POSITIVE_INFINITY);
    const result = run(
      counted(N, meter).pipe(
        workerPool(work(clock, 1), { concurrency: 8, capacity: 8 }),
        delay(1, clock),
        workerPool(work(clock, 50), { concurrency: 1, capacity: 4 }),
      ),
      clock,
      meter,
    );
    expect(result.error).toBeInstanceOf(ChannelFullError);
    const refused = (result.error as ChannelFullError<number>).value;
    expect(typeof refused).toBe('number');
    expect(result.output).not.toContain(refused);
    // the failure stopped the intake: memory stayed near the capacities, not the input
    expect(meter.entered).toBeLessThan(1000);
  });
});

describe('synchronous RxJS operators between two stages carry their room', () => {
  const capacity = 3;
  const concurrency = 2;
  const ops: { name: string; op: MonoTypeOperatorFunction<number>; expected: number[] }[] = [
    { name: 'map', op: map((n) => n + 0), expected: range(200) },
    {
      name: 'filter',
      op: filter((n) => n % 7 === 0),
      expected: range(200).filter((n) => n % 7 === 0),
    },
    { name: 'tap', op: tap(() => undefined), expected: range(200) },
    { name: 'scan', op: scan((_, n) => n, -1), expected: range(200) },
    { name: 'take', op: take(50), expected: range(50) },
    { name: 'takeWhile', op: takeWhile((n) => n < 120), expected: range(120) },
    { name: 'skip', op: skip(10), expected: range(200).slice(10) },
    {
      name: 'distinctUntilChanged',
      op: distinctUntilChanged((a, b) => a >> 2 === b >> 2),
      expected: range(200).filter((n) => n % 4 === 0),
    },
    {
      name: 'pairwise',
      op: (s) =>
        s.pipe(
          pairwise(),
          map(([, b]) => b),
        ),
      expected: range(200).slice(1),
    },
    {
      name: 'withLatestFrom',
      op: (s) =>
        s.pipe(
          withLatestFrom(of(0)),
          map(([n]) => n),
        ),
      expected: range(200),
    },
    { name: 'startWith', op: startWith(-1), expected: [-1, ...range(200)] },
    { name: 'defer', op: (s) => defer(() => s), expected: range(200) },
  ];

  for (const { name, op, expected } of ops) {
    it(`bounded → ${name} → workerPool: the source is read no further ahead than the room`, () => {
      const clock = new ManualClock();
      const source = new LoggingSource(range(200), clock);
      const outputs: number[] = [];
      let worst = 0;
      source.onEmit = () => {
        worst = Math.max(worst, source.emitted.length - outputs.length);
      };
      let error: unknown;
      let completed = false;
      source
        .pipe(
          bounded(capacity),
          op,
          workerPool(work(clock, 2), { concurrency, capacity, ordered: true }),
        )
        .subscribe({
          next: (n) => outputs.push(n),
          error: (e: unknown) => {
            error = e;
          },
          complete: () => {
            completed = true;
          },
        });
      clock.runAll();
      expect(error).toBeUndefined();
      expect(completed).toBe(true);
      expect(outputs).toEqual(expected);
      // what the operator itself dropped counts as read; the room is the stages' sum
      const droppedByOp = (k: number) =>
        source.emitted.slice(0, k).filter((e) => !expected.includes(e.value)).length;
      expect(worst - droppedByOp(source.emitted.length)).toBeLessThanOrEqual(
        capacity + capacity + concurrency + SLACK,
      );
      expect(source.requested).not.toBe(Number.POSITIVE_INFINITY);
    });
  }
});

describe('regressions found by the pipeline property test', () => {
  it("startWith's own values are pushed: a 'block' stage takes as many as it has room for, and refuses the next loudly", () => {
    // The room carried across startWith is for the values from upstream; the ones startWith
    // adds arrive when it is subscribed, before anyone asked. A pool whose consumer asked for
    // one starts one job (a job starts only when its result has somewhere to go) and buffers
    // `capacity` more: the next is a ChannelFullError carrying it, never a silent loss.
    const clock = new ManualClock();
    const pipeline = (extra: number[]) =>
      fromIterable([1, 2]).pipe(
        startWith(...extra),
        workerPool((n: number) => of(n), { concurrency: 3, capacity: 1 }),
      );
    const fits = new LoggingConsumer(pipeline([-2, -1]), clock);
    fits.request(1);
    clock.runAll();
    for (let i = 0; i < 4; i++) fits.request(1);
    clock.runAll();
    expect(fits.events.filter((e) => e.kind === 'next').map((e) => e.value)).toEqual([
      -2, -1, 1, 2,
    ]);
    expect(fits.events.at(-1)?.kind).toBe('complete');

    const over = new LoggingConsumer(pipeline([-3, -2, -1]), clock);
    for (let i = 0; i < 5; i++) {
      over.request(1);
      clock.runAll();
    }
    // what it took is handed on first; then the refusal, with the refused value
    expect(over.events.filter((e) => e.kind === 'next').map((e) => e.value)).toEqual([-3, -2]);
    const failed = over.events.find((e) => e.kind === 'error');
    expect(failed?.kind === 'error' && failed.error).toBeInstanceOf(ChannelFullError);
    expect(failed?.kind === 'error' && (failed.error as ChannelFullError).value).toBe(-1);
  });

  it('idempotent fed by a pull source with concurrency 2 gives every copy its outcome', () => {
    const clock = new ManualClock();
    const outcomes: string[] = [];
    fromIterable(['a', 'a', 'a'])
      .pipe(idempotent(work(clock, 5), { concurrency: 2, scheduler: clock }))
      .subscribe((o) => outcomes.push(`${o.message}:${o.shared}`));
    clock.runAll();
    expect(outcomes).toEqual(['a:false', 'a:true', 'a:true']);
  });

  it('idempotent behind a map counts copies waiting on a running key in the room it offers', () => {
    const clock = new ManualClock();
    const outcomes: unknown[] = [];
    fromIterable([0, 1, 2, 3, 4])
      .pipe(
        map((n) => n),
        idempotent(work(clock, 3), {
          key: (n) => Math.floor(n / 3),
          concurrency: 4,
          capacity: 2,
          scheduler: clock,
        }),
      )
      .subscribe({
        next: (o) => outcomes.push(o.message),
        error: (e: unknown) => outcomes.push(e),
        complete: () => outcomes.push('|'),
      });
    clock.runAll();
    expect(outcomes).toEqual([0, 1, 2, 3, 4, '|']);
  });

  it("idempotent under 'replace' feeding atLeastOnce still completes", () => {
    const clock = new ManualClock();
    const replaced: number[] = [];
    const delivered: number[] = [];
    let completed = false;
    fromIterable(range(8))
      .pipe(
        take(8),
        idempotent(work(clock, 2), {
          key: (n) => Math.floor(n / 2),
          concurrency: 4,
          capacity: 2,
          overflow: 'replace',
          onOverflow: (n) => replaced.push(n),
          scheduler: clock,
        }),
        map((o) => o.message),
        atLeastOnce(work(clock, 5), { concurrency: 1, capacity: 2, scheduler: clock }),
      )
      .subscribe({
        next: (d) => delivered.push(d.message),
        complete: () => {
          completed = true;
        },
      });
    clock.runAll();
    expect(delivered.length + replaced.length).toBe(8);
    expect(completed).toBe(true);
  });

  it('idempotent pulled one at a time through a map completes after its last outcome', () => {
    const clock = new ManualClock();
    const consumer = new LoggingConsumer(
      fromIterable([0, 1, 2, 3, 4]).pipe(
        map((n) => n),
        idempotent(work(clock, 2), { key: (n) => Math.floor(n / 3), scheduler: clock }),
      ),
      clock,
    );
    for (let i = 0; i < 10; i++) {
      consumer.request(1);
      clock.advance(3);
    }
    expect(consumer.values.map((o) => o.message)).toEqual([0, 1, 2, 3, 4]);
    expect(consumer.completed).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------
// Marble tests of each stage's output demand: a LoggingSource upstream, a LoggingConsumer
// downstream that the test drives, in TestScheduler virtual time. `requestedBy(f)[k]` is the
// total the stage had asked of its upstream by the end of frame k.

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('output demand of each stage (marbles)', () => {
  // idempotent opens its upstream on the first request; the other two when subscribed
  const stages: {
    name: string;
    stage: (s: TestScheduler) => OperatorFunction<string, unknown>;
    upstream?: string;
  }[] = [
    {
      name: 'workerPool',
      stage: (s) =>
        workerPool((v: string) => s.createColdObservable('---(r|)', { r: v.toUpperCase() }), {
          concurrency: 2,
        }),
    },
    {
      name: 'atLeastOnce',
      stage: (s) =>
        atLeastOnce((v: string) => s.createColdObservable('---(r|)', { r: v }), {
          concurrency: 2,
          scheduler: s,
        }),
    },
    {
      name: 'idempotent',
      stage: (s) =>
        idempotent((v: string) => s.createColdObservable('---(r|)', { r: v }), {
          concurrency: 2,
          scheduler: s,
        }),
      upstream: '--^-----------------!',
    },
  ];

  for (const { name, stage, upstream = '^-------------------!' } of stages) {
    it(`${name}(concurrency 2, jobs of 3 frames) starts a job only for downstream demand`, () => {
      const s = testScheduler();
      s.run(({ flush }) => {
        const source = new LoggingSource('abcdefgh', s);
        const out = source.pipe(stage(s));
        expect(isDemandAware(out)).toBe(true);
        const consumer = new LoggingConsumer(out, s);
        // downstream:  0 at 0 .. request(1) at 2 .. request(5) at 6 .. cancel at 20
        s.schedule(() => consumer.request(1), 2);
        s.schedule(() => consumer.request(5), 6);
        s.schedule(() => consumer.cancel(), 20);
        flush();
        //                frame: 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16
        expect(source.requestedBy(16)).toEqual([0, 0, 1, 1, 1, 1, 3, 3, 3, 5, 5, 5, 6, 6, 6, 6, 6]);
        expect(consumer.values.length).toBe(6);
        expect(consumer.events.map((e) => e.frame)).toEqual([5, 9, 9, 12, 12, 15]);
        expect(source.subscriptions).toEqual([subscriptionLog(upstream)]);
      });
    });
  }

  it('workerPool: demand asked before the pool could start is kept, not lost', () => {
    const s = testScheduler();
    s.run(({ flush }) => {
      const source = new LoggingSource('abc', s);
      const consumer = new LoggingConsumer(
        source.pipe(
          workerPool((v: string) => s.createColdObservable('-(r|)', { r: v }), { concurrency: 1 }),
        ),
        s,
      );
      consumer.request(10);
      flush();
      expect(consumer.events).toEqual([
        { frame: 1, kind: 'next', value: 'a' },
        { frame: 2, kind: 'next', value: 'b' },
        { frame: 3, kind: 'next', value: 'c' },
        { frame: 3, kind: 'complete' },
      ]);
      expect(source.requestedBy(3)).toEqual([1, 2, 3, 3]);
      expect(source.subscriptions).toEqual([subscriptionLog('^-!')]);
    });
  });

  it('bounded(3) reads ahead to fill its buffer, then one per value taken', () => {
    const s = testScheduler();
    s.run(({ flush }) => {
      const source = new LoggingSource('abcdefgh', s);
      const consumer = new LoggingConsumer(source.pipe(bounded(3)), s);
      s.schedule(() => consumer.request(1), 2);
      s.schedule(() => consumer.request(2), 5);
      s.schedule(() => consumer.cancel(), 8);
      flush();
      // nothing subscribed before the first request; then the value and a full buffer
      expect(source.requestedBy(6)).toEqual([0, 0, 4, 4, 4, 6, 6]);
      expect(consumer.events).toEqual([
        { frame: 2, kind: 'next', value: 'a' },
        { frame: 5, kind: 'next', value: 'b' },
        { frame: 5, kind: 'next', value: 'c' },
      ]);
      expect(source.subscriptions).toEqual([subscriptionLog('--^-----!')]);
    });
  });

  it('dedupe asks for one more for each duplicate it drops, and no more', () => {
    const s = testScheduler();
    s.run(({ flush }) => {
      const source = new LoggingSource('aabbbc', s, true);
      const consumer = new LoggingConsumer(source.pipe(dedupe({ scheduler: s })), s);
      s.schedule(() => consumer.request(1), 1);
      s.schedule(() => consumer.request(1), 3);
      s.schedule(() => consumer.request(1), 5);
      s.schedule(() => consumer.cancel(), 7);
      flush();
      expect(consumer.values).toEqual(['a', 'b', 'c']);
      expect(consumer.events.map((e) => e.frame)).toEqual([1, 3, 5]);
      // a at 1; a(dup), b at 3; b, b (dups), c at 5
      expect(source.requestedBy(6)).toEqual([0, 1, 1, 3, 3, 6, 6]);
      expect(source.subscriptions).toEqual([subscriptionLog('^------!')]);
    });
  });

  it('a stage pulled by another sluice stage through map reads ahead at most its consumer’s room', () => {
    const s = testScheduler();
    s.run(({ flush }) => {
      const source = new LoggingSource('abcdefghijklmnop', s);
      const consumer = new LoggingConsumer(
        source.pipe(
          workerPool((v: string) => s.createColdObservable('-(r|)', { r: v }), { concurrency: 2 }),
          map((v) => v.toUpperCase()),
          workerPool((v: string) => s.createColdObservable('----(r|)', { r: v }), {
            concurrency: 1,
            capacity: 2,
          }),
        ),
        s,
      );
      s.schedule(() => consumer.request(1), 0);
      s.schedule(() => consumer.cancel(), 10);
      flush();
      expect(consumer.values).toEqual(['A']);
      // at most: the second pool's capacity 2 and its worker, plus the first pool's 2 workers
      expect(source.requested).toBeLessThanOrEqual(2 + 1 + 2 + SLACK);
      expect(source.subscriptions).toEqual([subscriptionLog('^---------!')]);
    });
  });

  it('queue.consume output is demand-aware: no handler runs without downstream demand', () => {
    const s = testScheduler();
    s.run(({ flush }) => {
      const queue = new MessageQueue<string>({ scheduler: s });
      for (const m of 'abcdef') queue.enqueue(m);
      const started: string[] = [];
      const out = queue.consume(
        (delivery) => {
          started.push(delivery.payload);
          return s.createColdObservable('--(r|)', { r: delivery.payload });
        },
        { concurrency: 4 },
      );
      expect(isDemandAware(out)).toBe(true);
      const consumer = new LoggingConsumer(out, s);
      flush();
      expect(started).toEqual([]);
      s.schedule(() => consumer.request(2), 1);
      s.schedule(() => consumer.cancel(), 6);
      flush();
      expect(started).toEqual(['a', 'b']);
      expect(consumer.values.length).toBe(2);
      expect(queue.stats().visible).toBe(4);
    });
  });
});
