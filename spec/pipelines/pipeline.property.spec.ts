/**
 * A pipeline of sluice stages holds end to end: random pipelines of 2 to 5 stages (`bounded`,
 * `workerPool` ordered and unordered, `atLeastOnce`, `idempotent`, `dedupe`) with random
 * synchronous RxJS operators between them, random capacities, concurrencies and work durations,
 * fed by `fromIterable` or by a producer awaiting `send()` on an `mpsc` channel, run in virtual
 * time. At every step:
 * - the producer is never further ahead of the end of the pipeline than the sum of the stages'
 *   `capacity + concurrency` (plus the channel's capacity) plus a small constant;
 * - no stage runs more than `concurrency` jobs;
 * and at the end:
 * - every message is output, filtered by an operator, reported (`onOverflow`, `onDuplicate`,
 *   dead letter) or left in the channel, exactly once (or cut off by a `take`/`takeWhile` that
 *   ended the pipeline);
 * - nothing errored, nothing stalled, and an ordered pipeline kept its order;
 * - a drain at a random moment (the producer stops, or the first pool's `signal` is aborted)
 *   keeps the books balanced.
 *
 * A second property multicasts a source (optionally through `bounded` or an ordered `workerPool`)
 * with `shareBounded(capacity)` to 2 or 3 subscribers, each with its own tail (a `workerPool` of
 * its own concurrency and durations, a consumer pulling one message every `pace` frames, or a
 * plain RxJS subscriber); the first is there from the start and stays, the others join at a
 * random frame and may leave at a random frame. At every step the producer is never further ahead
 * of a present subscriber than the channel + the stage before + the share's `capacity` + that
 * subscriber's tail (`capacity + concurrency`, 1 pulled, 0 for a plain subscriber) + a small
 * constant; at the end the share took every accepted message once, in order, and each subscriber
 * that stayed completed having output exactly the messages the share took after it joined (in
 * order unless through its pool): leaving never stalls the others.
 */
import fc from 'fast-check';
import {
  BehaviorSubject,
  defer,
  distinctUntilChanged,
  filter,
  type MonoTypeOperatorFunction,
  map,
  type Observable,
  type OperatorFunction,
  pairwise,
  type Subscription,
  scan,
  skip,
  startWith,
  take,
  takeWhile,
  tap,
  timer,
  withLatestFrom,
} from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  atLeastOnce,
  bounded,
  dedupe,
  fromIterable,
  idempotent,
  mpsc,
  type OverflowPolicy,
  shareBounded,
  workerPool,
} from '../../src/index.js';
import { type Demand, type Pullable, PullObservable, pull } from '../../src/internal/demand.js';
import { ManualClock } from '../queue/manualClock.js';
import { flush } from '../support/promises.js';

/** Allowed overshoot beyond Σ(capacity + concurrency): a small constant, whatever the pipeline. */
const SLACK = 4;
const RUNS = 500;
const SHARE_RUNS = 300;

interface Msg {
  readonly id: number;
  readonly n?: number;
}

// ---------------------------------------------------------------- the pipeline, as data

type Policy = Extract<OverflowPolicy, 'block' | 'drop' | 'replace'>;

type StageSpec =
  | { readonly stage: 'bounded'; readonly capacity: number; readonly overflow: Policy }
  | {
      readonly stage: 'workerPool';
      readonly concurrency: number;
      readonly capacity: number;
      readonly ordered: boolean;
      readonly overflow: Policy;
      readonly durations: readonly number[];
    }
  | {
      readonly stage: 'atLeastOnce';
      readonly concurrency: number;
      readonly capacity: number;
      readonly overflow: Policy;
      readonly durations: readonly number[];
      /** Messages whose id is a multiple of this always fail: dead letters (0 = none). */
      readonly poisonEvery: number;
      readonly maxAttempts: number;
    }
  | {
      readonly stage: 'idempotent';
      readonly concurrency: number;
      readonly capacity: number;
      readonly overflow: Policy;
      readonly durations: readonly number[];
      /** Key = floor(id / keyDiv): copies share an outcome. */
      readonly keyDiv: number;
    }
  | { readonly stage: 'dedupe'; readonly keyDiv: number };

type OpSpec =
  | { readonly op: 'map' }
  | { readonly op: 'filter'; readonly keepEvery: number }
  | { readonly op: 'tap' }
  | { readonly op: 'scan' }
  | { readonly op: 'take'; readonly count: number }
  | { readonly op: 'takeWhile'; readonly below: number }
  | { readonly op: 'skip'; readonly count: number }
  | { readonly op: 'distinctUntilChanged'; readonly keyDiv: number }
  | { readonly op: 'pairwise' }
  | { readonly op: 'withLatestFrom' }
  | { readonly op: 'startWith' }
  | { readonly op: 'defer' };

interface PipelineSpec {
  readonly source: 'fromIterable' | 'mpsc';
  readonly channelCapacity: number;
  readonly messages: number;
  /** ops[i] runs before stages[i]; ops[stages.length] after the last stage. */
  readonly ops: readonly (readonly OpSpec[])[];
  readonly stages: readonly StageSpec[];
  /** The final consumer: plain subscribe (unlimited), or pulling one message every `pace` frames. */
  readonly consumer:
    | { readonly kind: 'subscribe' }
    | { readonly kind: 'pull'; readonly pace: number };
  /** Frame of the drain, if any, and how it is done. */
  readonly drain: { readonly at: number; readonly how: 'producer' | 'poolSignal' } | null;
}

const policy = fc.constantFrom<Policy>('block', 'block', 'drop', 'replace');
const durations = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 });
const small = (max: number) => fc.integer({ min: 1, max });

const stageSpec: fc.Arbitrary<StageSpec> = fc.oneof(
  fc.record({ stage: fc.constant('bounded' as const), capacity: small(6), overflow: policy }),
  fc.record({
    stage: fc.constant('workerPool' as const),
    concurrency: small(4),
    capacity: small(6),
    ordered: fc.boolean(),
    overflow: policy,
    durations,
  }),
  fc.record({
    stage: fc.constant('atLeastOnce' as const),
    concurrency: small(4),
    capacity: small(6),
    overflow: policy,
    durations,
    poisonEvery: fc.constantFrom(0, 0, 3, 5),
    maxAttempts: small(3),
  }),
  fc.record({
    stage: fc.constant('idempotent' as const),
    concurrency: small(4),
    capacity: small(6),
    overflow: policy,
    durations,
    keyDiv: small(3),
  }),
  fc.record({ stage: fc.constant('dedupe' as const), keyDiv: small(3) }),
);

const opSpec: fc.Arbitrary<OpSpec> = fc.oneof(
  fc.constant({ op: 'map' as const }),
  fc.record({ op: fc.constant('filter' as const), keepEvery: fc.constantFrom(1, 2, 3, 10, 100) }),
  fc.constant({ op: 'tap' as const }),
  fc.constant({ op: 'scan' as const }),
  fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('takeWhile' as const), below: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ op: fc.constant('skip' as const), count: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ op: fc.constant('distinctUntilChanged' as const), keyDiv: small(3) }),
  fc.constant({ op: 'pairwise' as const }),
  fc.constant({ op: 'withLatestFrom' as const }),
  fc.constant({ op: 'startWith' as const }),
  fc.constant({ op: 'defer' as const }),
);

const pipelineSpec: fc.Arbitrary<PipelineSpec> = fc
  .array(stageSpec, { minLength: 2, maxLength: 5 })
  .chain((stages) =>
    fc.record({
      source: fc.constantFrom<PipelineSpec['source']>('fromIterable', 'mpsc'),
      channelCapacity: small(4),
      messages: fc.integer({ min: 0, max: 40 }),
      ops: fc.array(fc.array(opSpec, { maxLength: 2 }), {
        minLength: stages.length + 1,
        maxLength: stages.length + 1,
      }),
      stages: fc.constant(stages),
      consumer: fc.oneof(
        fc.constant({ kind: 'subscribe' as const }),
        fc.record({ kind: fc.constant('pull' as const), pace: small(6) }),
      ),
      drain: fc.option(
        fc.record({
          at: fc.integer({ min: 0, max: 60 }),
          how: fc.constantFrom<'producer' | 'poolSignal'>('producer', 'poolSignal'),
        }),
        { nil: null },
      ),
    }),
  )
  // a consumer that pulls reads the last stage itself (an operator after it would hide its
  // demand), and only a stage whose output is demand-aware
  .map((spec) => {
    if (spec.consumer.kind !== 'pull') return spec;
    const pulled = { ...spec, ops: [...spec.ops.slice(0, -1), []] };
    return outputIsDemandAware(pulled, pulled.stages.length - 1)
      ? pulled
      : { ...spec, consumer: { kind: 'subscribe' as const } };
  })
  // startWith's own values are pushed when it is subscribed, before anything was asked for: a
  // 'block' stage refuses more of them than its capacity with ChannelFullError, as documented
  // (stages.spec.ts has that case); the property covers the pipelines where they fit
  .filter((spec) =>
    spec.stages.every(
      (s, i) =>
        s.stage === 'dedupe' || s.overflow !== 'block' || startWithBurst(spec, i) <= s.capacity,
    ),
  );

/**
 * How many values `startWith`s push into stage `i` when the pipeline is subscribed: those of
 * the operators right before it, and before any `dedupe` in front of it (which passes them on).
 */
function startWithBurst(spec: PipelineSpec, i: number): number {
  let count = 0;
  for (let j = i; j >= 0; j--) {
    count += spec.ops[j]!.filter((op) => op.op === 'startWith').length;
    if (j === 0 || spec.stages[j - 1]!.stage !== 'dedupe') break;
  }
  return count;
}

/**
 * Whether stage `i`'s output is demand-aware: every working stage's and `bounded`'s is;
 * `dedupe`, a filter that holds nothing, is one only when it reads a demand-aware source
 * directly (over a push source there is nothing it could pause).
 */
function outputIsDemandAware(spec: PipelineSpec, i: number): boolean {
  if (spec.stages[i]!.stage !== 'dedupe') return true;
  if (spec.ops[i]!.length > 0) return false;
  if (i === 0) return true;
  // the harness puts a `map` after atLeastOnce and idempotent (unwrapping their outcomes) and
  // after an ordered pool (recording its order)
  const before = spec.stages[i - 1]!;
  const mapped =
    before.stage === 'atLeastOnce' ||
    before.stage === 'idempotent' ||
    (before.stage === 'workerPool' && before.ordered);
  return !mapped && outputIsDemandAware(spec, i - 1);
}

/** A readable one-line picture of a pipeline, for failure messages and shrunk examples. */
function describePipeline(spec: PipelineSpec): string {
  const op = (o: OpSpec): string => {
    switch (o.op) {
      case 'filter':
        return `filter(id % ${o.keepEvery} == 0)`;
      case 'take':
        return `take(${o.count})`;
      case 'takeWhile':
        return `takeWhile(id < ${o.below})`;
      case 'skip':
        return `skip(${o.count})`;
      case 'distinctUntilChanged':
        return `distinctUntilChanged(id / ${o.keyDiv})`;
      default:
        return o.op;
    }
  };
  const stage = (s: StageSpec): string => {
    switch (s.stage) {
      case 'bounded':
        return `bounded(${s.capacity}, ${s.overflow})`;
      case 'workerPool':
        return `workerPool(concurrency ${s.concurrency}, capacity ${s.capacity}, ${s.ordered ? 'ordered' : 'unordered'}, ${s.overflow}, takes [${s.durations}])`;
      case 'atLeastOnce':
        return `atLeastOnce(concurrency ${s.concurrency}, capacity ${s.capacity}, ${s.overflow}, takes [${s.durations}], poison every ${s.poisonEvery}, maxAttempts ${s.maxAttempts})`;
      case 'idempotent':
        return `idempotent(concurrency ${s.concurrency}, capacity ${s.capacity}, ${s.overflow}, takes [${s.durations}], key id / ${s.keyDiv})`;
      case 'dedupe':
        return `dedupe(key id / ${s.keyDiv})`;
    }
  };
  const parts: string[] = [
    spec.source === 'mpsc'
      ? `mpsc(${spec.channelCapacity}) fed ${spec.messages} by send()`
      : `fromIterable(${spec.messages})`,
  ];
  spec.stages.forEach((s, i) => {
    parts.push(...spec.ops[i]!.map(op), stage(s));
  });
  parts.push(...spec.ops[spec.stages.length]!.map(op));
  parts.push(spec.consumer.kind === 'pull' ? `pull 1 every ${spec.consumer.pace}` : 'subscribe');
  if (spec.drain) parts.push(`(drain by ${drainHow(spec)} at frame ${spec.drain.at})`);
  return parts.join(' → ');
}

/** Σ(capacity + concurrency) over the stages (plus the channel), the bound of the pipeline. */
function boundOf(spec: PipelineSpec): number {
  let sum = spec.source === 'mpsc' ? spec.channelCapacity : 0;
  for (const s of spec.stages) {
    if (s.stage === 'bounded') sum += s.capacity;
    else if (s.stage !== 'dedupe') sum += s.capacity + s.concurrency;
  }
  return sum + SLACK;
}

// ---------------------------------------------------------------- the books

/** Where every message went. Ids >= 0 come from the producer; negative ids from `startWith`. */
class Books {
  /** Ids accepted into the pipeline (pulled from the iterable, or accepted by the channel). */
  readonly entered: number[] = [];
  readonly output: number[] = [];
  readonly overflowed: number[] = [];
  readonly deadLettered: number[] = [];
  readonly duplicates: number[] = [];
  /** Left in the channel once the pipeline ended. */
  readonly leftover: number[] = [];
  /** What went into and out of each synchronous operator: a drop is in \ out. */
  readonly ops: { readonly name: string; readonly in: number[]; readonly out: number[] }[] = [];
  /** Running jobs per stage, and the most seen. */
  readonly running: number[] = [];
  readonly maxRunning: number[] = [];
  cut = false;
  /** Steps seen so far (entries, moves, job starts, outputs): a pipeline without any stalls. */
  events = 0;
  worst = 0;
  violation: string | undefined = undefined;

  constructor(readonly bound: number) {}

  ahead(): number {
    let dropped = 0;
    for (const op of this.ops) dropped += op.in.length - op.out.length;
    return (
      this.entered.length -
      this.output.length -
      dropped -
      this.overflowed.length -
      this.deadLettered.length -
      this.duplicates.length
    );
  }

  check(step: string): void {
    this.events++;
    const ahead = this.ahead();
    if (ahead > this.worst) this.worst = ahead;
    if (this.violation === undefined && ahead > this.bound) {
      this.violation = `${ahead} messages in the pipeline after ${step}, bound ${this.bound}`;
    }
  }
}

/** Counts of each id in a list. */
function tally(ids: readonly number[], into: Map<number, string[]>, bucket: string): void {
  for (const id of ids) {
    const seen = into.get(id);
    if (seen) seen.push(bucket);
    else into.set(id, [bucket]);
  }
}

/** Each id of `a` not matched by one in `b` (multiset difference). */
function minus(a: readonly number[], b: readonly number[]): number[] {
  const left = new Map<number, number>();
  for (const id of b) left.set(id, (left.get(id) ?? 0) + 1);
  const out: number[] = [];
  for (const id of a) {
    const n = left.get(id) ?? 0;
    if (n > 0) left.set(id, n - 1);
    else out.push(id);
  }
  return out;
}

// ---------------------------------------------------------------- building and running

function opOf(spec: OpSpec, books: Books, injectId: number): MonoTypeOperatorFunction<Msg> {
  switch (spec.op) {
    case 'map':
      return map((m) => ({ id: m.id, n: (m.n ?? 0) + 1 }));
    case 'filter':
      return filter((m) => m.id % spec.keepEvery === 0);
    case 'tap':
      return tap(() => books.check('tap'));
    case 'scan':
      return scan((acc: Msg, m: Msg) => ({ id: m.id, n: (acc.n ?? 0) + 1 }), { id: -1, n: 0 });
    case 'take':
      return (source) => source.pipe(take(spec.count), tapComplete(books));
    case 'takeWhile':
      return (source) =>
        source.pipe(
          takeWhile((m) => m.id < spec.below),
          tapComplete(books),
        );
    case 'skip':
      return skip(spec.count);
    case 'distinctUntilChanged':
      return distinctUntilChanged(
        (a, b) => Math.floor(a.id / spec.keyDiv) === Math.floor(b.id / spec.keyDiv),
      );
    case 'pairwise':
      return (source) =>
        source.pipe(
          pairwise(),
          map(([, current]) => current),
        );
    case 'withLatestFrom':
      return (source) =>
        source.pipe(
          withLatestFrom(new BehaviorSubject(1)),
          map(([m]) => m),
        );
    case 'startWith':
      return startWith<Msg>({ id: injectId });
    case 'defer':
      return (source) => defer(() => source);
  }
}

/** Marks the books as cut once a `take`/`takeWhile` ends the pipeline early. */
function tapComplete(books: Books): MonoTypeOperatorFunction<Msg> {
  return tap({ complete: () => (books.cut = true) });
}

/** Wraps an operator to record what enters and leaves it. */
function recorded(name: string, books: Books, op: MonoTypeOperatorFunction<Msg>) {
  const log = { name, in: [] as number[], out: [] as number[] };
  books.ops.push(log);
  return (source: Observable<Msg>) =>
    source.pipe(
      tap((m) => log.in.push(m.id)),
      op,
      tap((m) => {
        log.out.push(m.id);
        books.check(name);
      }),
    );
}

/** A job of `duration` frames on `clock`, counted against the stage's running jobs. */
function job<R>(
  books: Books,
  index: number,
  duration: number,
  clock: ManualClock,
  result: () => R,
  fail = false,
): Observable<R> {
  return defer(() => {
    books.running[index] = (books.running[index] ?? 0) + 1;
    books.maxRunning[index] = Math.max(books.maxRunning[index] ?? 0, books.running[index]!);
    books.check(`job start in stage ${index + 1}`);
    // the job stops counting as it answers (the stage may start the next one right then),
    // or when it is unsubscribed before answering
    let counted = true;
    const stop = () => {
      if (counted) books.running[index]!--;
      counted = false;
    };
    return timer(duration, clock).pipe(
      map(() => {
        stop();
        if (fail) throw new Error('poison');
        return result();
      }),
      tap({ finalize: stop }),
    );
  });
}

function stageOf(
  spec: StageSpec,
  index: number,
  books: Books,
  clock: ManualClock,
  signal: AbortSignal | undefined,
  ordered: number[][],
): { op: OperatorFunction<Msg, unknown>; unwrap: (out: unknown) => Msg } {
  const onOverflow = (m: Msg) => {
    books.overflowed.push(m.id);
    books.check('overflow');
  };
  const took = (d: readonly number[], id: number) => d[Math.abs(id) % d.length]!;
  switch (spec.stage) {
    case 'bounded':
      return {
        op: bounded<Msg>(spec.capacity, { overflow: spec.overflow, onOverflow }),
        unwrap: same,
      };
    case 'workerPool': {
      const starts: number[] = [];
      if (spec.ordered) ordered.push(starts);
      return {
        op: workerPool(
          (m: Msg) => {
            starts.push(m.id);
            return job(books, index, took(spec.durations, m.id), clock, () => m);
          },
          {
            concurrency: spec.concurrency,
            capacity: spec.capacity,
            ordered: spec.ordered,
            overflow: spec.overflow,
            onOverflow,
            drain: signal,
          },
        ),
        unwrap: same,
      };
    }
    case 'atLeastOnce':
      return {
        op: atLeastOnce(
          (m: Msg) =>
            job(
              books,
              index,
              took(spec.durations, m.id),
              clock,
              () => 'ack',
              spec.poisonEvery > 0 && m.id % spec.poisonEvery === 0,
            ),
          {
            concurrency: spec.concurrency,
            capacity: spec.capacity,
            overflow: spec.overflow,
            onOverflow,
            maxAttempts: spec.maxAttempts,
            ackTimeout: 1000,
            backoff: 1,
            scheduler: clock,
            deadLetter: (letter) => {
              books.deadLettered.push(letter.message.id);
              books.check('dead letter');
            },
          },
        ),
        unwrap: (out) => (out as { message: Msg }).message,
      };
    case 'idempotent':
      return {
        op: idempotent(
          (m: Msg) => job(books, index, took(spec.durations, m.id), clock, () => m.id),
          {
            key: (m: Msg) => Math.floor(m.id / spec.keyDiv),
            concurrency: spec.concurrency,
            capacity: spec.capacity,
            overflow: spec.overflow,
            onOverflow,
            scheduler: clock,
          },
        ),
        unwrap: (out) => (out as { message: Msg }).message,
      };
    case 'dedupe':
      return {
        op: dedupe<Msg, number>({
          key: (m) => Math.floor(m.id / spec.keyDiv),
          ttl: Number.POSITIVE_INFINITY,
          scheduler: clock,
          onDuplicate: (m) => {
            books.duplicates.push(m.id);
            books.check('duplicate');
          },
        }),
        unwrap: same,
      };
  }
}

const same = (out: unknown): Msg => out as Msg;

/**
 * The pool's `signal` drains a pool that reads the producer directly, or (from a channel)
 * through a `bounded` right before it, which must then give back or pass on what it took.
 */
function drainHow(spec: PipelineSpec): 'producer' | 'poolSignal' | undefined {
  if (!spec.drain) return undefined;
  return spec.drain.how === 'poolSignal' && drainedPool(spec) !== undefined
    ? 'poolSignal'
    : 'producer';
}

/** Which stage a pool `signal` drain applies to, if any. */
function drainedPool(spec: PipelineSpec): number | undefined {
  const [first, second] = spec.stages;
  if (first!.stage === 'workerPool' && spec.ops[0]!.length === 0) return 0;
  const throughBounded =
    spec.source === 'mpsc' &&
    first!.stage === 'bounded' &&
    second?.stage === 'workerPool' &&
    spec.ops[0]!.length === 0 &&
    spec.ops[1]!.length === 0;
  return throughBounded ? 1 : undefined;
}

type PullFn = (sink: {
  next(value: unknown): void;
  error(err: unknown): void;
  complete(): void;
}) => { request(n: number): void; cancel(): void };

/** Is every stage order-preserving, so the output must keep the producer's order? */
function keepsOrder(spec: PipelineSpec): boolean {
  return spec.stages.every(
    (s) => s.stage === 'bounded' || s.stage === 'dedupe' || (s.stage === 'workerPool' && s.ordered),
  );
}

interface Outcome {
  readonly books: Books;
  readonly error: unknown;
  readonly completed: boolean;
  readonly stalled: boolean;
  readonly ordered: number[][];
  readonly orderedOutputs: number[][];
}

async function runPipeline(spec: PipelineSpec): Promise<Outcome> {
  const clock = new ManualClock();
  const books = new Books(boundOf(spec));
  const drainPool = new AbortController();
  let stopProducing = false;

  // the producer
  let source: Observable<Msg>;
  let channel: ReturnType<typeof mpsc<Msg>> | undefined;
  let producing: Promise<void> = Promise.resolve();
  if (spec.source === 'fromIterable') {
    const produce = function* (): Generator<Msg> {
      for (let id = 0; id < spec.messages && !stopProducing; id++) {
        books.entered.push(id);
        books.check('pull from the iterable');
        yield { id };
      }
    };
    source = fromIterable({ [Symbol.iterator]: produce });
  } else {
    channel = mpsc<Msg>(spec.channelCapacity);
    const [tx] = channel;
    source = channel[1];
    producing = (async () => {
      for (let id = 0; id < spec.messages && !stopProducing; id++) {
        try {
          await tx.send({ id });
        } catch {
          return; // the channel was closed at the end: this one was never accepted
        }
        books.entered.push(id);
        books.check('send accepted');
      }
      tx.close();
    })();
  }

  // the pipeline: every stage's output is unwrapped back to the message by a `map` (one more
  // synchronous operator), except the last stage's when the final consumer pulls it directly
  const ordered: number[][] = [];
  const orderedOutputs: number[][] = [];
  let injectId = -1;
  let stream: Observable<unknown> = source;
  let finish: (out: unknown) => Msg = (out) => out as Msg;
  const addOps = (ops: readonly OpSpec[]) => {
    for (const o of ops) {
      stream = (stream as Observable<Msg>).pipe(recorded(o.op, books, opOf(o, books, injectId--)));
    }
  };
  const last = spec.stages.length - 1;
  spec.stages.forEach((s, i) => {
    addOps(spec.ops[i]!);
    const built = stageOf(
      s,
      i,
      books,
      clock,
      i === drainedPool(spec) && drainHow(spec) === 'poolSignal' ? drainPool.signal : undefined,
      ordered,
    );
    stream = (stream as Observable<Msg>).pipe(built.op);
    let after = built.unwrap;
    if (s.stage === 'workerPool' && s.ordered) {
      const outs: number[] = [];
      orderedOutputs.push(outs);
      after = (out) => {
        const m = built.unwrap(out);
        outs.push(m.id);
        return m;
      };
    }
    if (i === last && spec.consumer.kind === 'pull') finish = after;
    else if (after !== same) stream = stream.pipe(map(after));
  });
  addOps(spec.ops[spec.stages.length]!);

  // the final consumer
  let error: unknown;
  let completed = false;
  const receive = (out: unknown) => {
    books.output.push(finish(out).id);
    books.check('output');
  };
  let cancel: () => void;
  if (spec.consumer.kind === 'subscribe') {
    const sub = stream.subscribe({
      next: receive,
      error: (e: unknown) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    });
    cancel = () => sub.unsubscribe();
  } else {
    const pullFn = (stream as unknown as Record<symbol, unknown>)[Symbol.for('sluice.pull')];
    if (typeof pullFn !== 'function') {
      throw new Error('the output of a sluice stage carries no Symbol.for("sluice.pull") method');
    }
    const demand = (pullFn as PullFn).call(stream, {
      next: receive,
      error: (e: unknown) => {
        error = e;
      },
      complete: () => {
        completed = true;
      },
    });
    const pace = spec.consumer.pace;
    let ticker: Subscription | undefined;
    const tick = (): Subscription =>
      clock.schedule(() => {
        if (completed || error !== undefined) return;
        ticker = tick();
        demand.request(1);
      }, pace);
    demand.request(1);
    ticker = tick();
    cancel = () => {
      ticker?.unsubscribe();
      demand.cancel();
    };
  }

  // run in virtual time, frame by frame, letting the producer's promises settle in between
  let stalled = false;
  let quietSince = 0;
  let events = -1;
  for (let frame = 0; !completed && error === undefined; frame++) {
    await flush(3);
    if (spec.drain && frame === spec.drain.at) {
      if (drainHow(spec) === 'poolSignal') drainPool.abort();
      else stopProducing = true;
    }
    if (books.events !== events) {
      events = books.events;
      quietSince = frame;
    } else if (frame - quietSince > 3000) {
      stalled = true; // nothing entered, moved, started or left for 3000 frames
      break;
    }
    clock.advance(1);
  }
  await flush(3);
  cancel();

  // whatever is still in the channel was never taken: it stays there
  if (channel) {
    const [, rx] = channel;
    rx.close(); // refuses a send still waiting (that message never entered)
    for (;;) {
      const got = rx.tryRecv();
      if (!got.ok) break;
      books.leftover.push(got.value.id);
    }
    stopProducing = true;
    await producing;
  }
  return { books, error, completed, stalled, ordered, orderedOutputs };
}

/** Checks one run's books; returns what is wrong, or nothing. */
function verdict(spec: PipelineSpec, outcome: Outcome): string | undefined {
  const { books } = outcome;
  if (outcome.error !== undefined) return `the pipeline errored: ${String(outcome.error)}`;
  if (outcome.stalled) {
    return `the pipeline stalled (entered ${books.entered.length}, output ${books.output.length}, ahead ${books.ahead()})`;
  }
  if (!outcome.completed) return 'the pipeline did not complete';
  if (books.violation) return `bound exceeded: ${books.violation}`;
  for (let i = 0; i < spec.stages.length; i++) {
    const s = spec.stages[i]!;
    if (
      s.stage !== 'bounded' &&
      s.stage !== 'dedupe' &&
      (books.maxRunning[i] ?? 0) > s.concurrency
    ) {
      return `stage ${i + 1} ran ${books.maxRunning[i]} jobs at once, concurrency ${s.concurrency}`;
    }
  }

  // every entered message in exactly one bucket
  const where = new Map<number, string[]>();
  tally(books.output, where, 'output');
  tally(books.overflowed, where, 'onOverflow');
  tally(books.deadLettered, where, 'dead letter');
  tally(books.duplicates, where, 'onDuplicate');
  tally(books.leftover, where, 'left in the channel');
  for (const op of books.ops) tally(minus(op.in, op.out), where, `filtered by ${op.name}`);
  const injected = new Set<number>();
  for (const op of books.ops) for (const id of minus(op.out, op.in)) injected.add(id);
  const entered = new Set(books.entered);
  if (entered.size !== books.entered.length) return 'a message entered twice';
  for (const id of books.entered) {
    const buckets = where.get(id) ?? [];
    if (buckets.length > 1) return `message ${id} counted ${buckets.length} times: ${buckets}`;
    if (buckets.length === 0 && !books.cut) return `message ${id} was lost`;
  }
  for (const [id, buckets] of where) {
    if (!entered.has(id) && !injected.has(id)) {
      return `message ${id} came out (${buckets}) but never went in`;
    }
  }

  // order
  for (let i = 0; i < outcome.ordered.length; i++) {
    const starts = outcome.ordered[i]!;
    const outs = outcome.orderedOutputs[i]!;
    if (outs.some((id, k) => starts[k] !== id)) {
      return `an ordered pool emitted [${outs}] for jobs started as [${starts}]`;
    }
  }
  if (keepsOrder(spec)) {
    const fromProducer = books.output.filter((id) => id >= 0);
    if (fromProducer.some((id, k) => k > 0 && id <= fromProducer[k - 1]!)) {
      return `an order-keeping pipeline reordered its output: [${fromProducer}]`;
    }
  }
  return undefined;
}

function base(
  stages: StageSpec[],
  ops: OpSpec[][],
  source: PipelineSpec['source'] = 'fromIterable',
): PipelineSpec {
  return {
    source,
    channelCapacity: 2,
    messages: 40,
    ops,
    stages,
    consumer: { kind: 'subscribe' },
    drain: null,
  };
}

// ---------------------------------------------------------------- a shared pipeline

/**
 * A source (optionally through one order-keeping stage) multicast by `shareBounded(capacity)`
 * to 2 or 3 subscribers, each with its own tail and pace. The first subscriber is there from
 * frame 0 and stays; the others may join late and one may leave at a random frame.
 */
interface SubscriberSpec {
  readonly tail:
    | {
        readonly kind: 'pool';
        readonly concurrency: number;
        readonly capacity: number;
        readonly durations: readonly number[];
      }
    | { readonly kind: 'pull'; readonly pace: number }
    | { readonly kind: 'subscribe' };
  readonly joinAt: number;
  readonly leaveAt: number | null;
}

interface SharedSpec {
  readonly source: 'fromIterable' | 'mpsc';
  readonly channelCapacity: number;
  readonly messages: number;
  /** A demand-aware stage between the source and the share (no operator, so demand crosses). */
  readonly before: StageSpec | null;
  readonly capacity: number;
  readonly subscribers: readonly SubscriberSpec[];
  /** Frame at which the producer stops, if any. */
  readonly stopAt: number | null;
}

const subscriberTail: fc.Arbitrary<SubscriberSpec['tail']> = fc.oneof(
  fc.record({
    kind: fc.constant('pool' as const),
    concurrency: small(3),
    capacity: small(4),
    durations,
  }),
  fc.record({ kind: fc.constant('pull' as const), pace: small(6) }),
  fc.constant({ kind: 'subscribe' as const }),
);

const sharedSpec: fc.Arbitrary<SharedSpec> = fc.record({
  source: fc.constantFrom<SharedSpec['source']>('fromIterable', 'mpsc'),
  channelCapacity: small(4),
  messages: fc.integer({ min: 0, max: 40 }),
  before: fc.option(
    fc.oneof(
      fc.record({
        stage: fc.constant('bounded' as const),
        capacity: small(4),
        overflow: fc.constant<Policy>('block'),
      }),
      fc.record({
        stage: fc.constant('workerPool' as const),
        concurrency: small(3),
        capacity: small(4),
        ordered: fc.constant(true),
        overflow: fc.constant<Policy>('block'),
        durations,
      }),
    ),
    { nil: null },
  ),
  capacity: small(6),
  subscribers: fc
    .tuple(
      subscriberTail,
      fc.array(
        fc.record({
          tail: subscriberTail,
          joinAt: fc.integer({ min: 0, max: 40 }),
          leaveAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
        }),
        { minLength: 1, maxLength: 2 },
      ),
    )
    .map(([first, others]) => [
      { tail: first, joinAt: 0, leaveAt: null },
      ...others.map(({ tail, joinAt, leaveAfter }) => ({
        tail,
        joinAt,
        leaveAt: leaveAfter === null ? null : joinAt + leaveAfter,
      })),
    ]),
  stopAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
});

function describeShared(spec: SharedSpec): string {
  const parts = [
    spec.source === 'mpsc'
      ? `mpsc(${spec.channelCapacity}) fed ${spec.messages} by send()`
      : `fromIterable(${spec.messages})`,
  ];
  if (spec.before?.stage === 'bounded') parts.push(`bounded(${spec.before.capacity})`);
  else if (spec.before?.stage === 'workerPool') {
    parts.push(
      `workerPool(concurrency ${spec.before.concurrency}, capacity ${spec.before.capacity}, ordered, takes [${spec.before.durations}])`,
    );
  }
  parts.push(`shareBounded(${spec.capacity})`);
  const subs = spec.subscribers.map((s, k) => {
    const tail =
      s.tail.kind === 'pool'
        ? `workerPool(concurrency ${s.tail.concurrency}, capacity ${s.tail.capacity}, takes [${s.tail.durations}])`
        : s.tail.kind === 'pull'
          ? `pull 1 every ${s.tail.pace}`
          : 'subscribe';
    const when = `${s.joinAt > 0 ? ` joins at ${s.joinAt}` : ''}${s.leaveAt !== null ? ` leaves at ${s.leaveAt}` : ''}`;
    return `#${k + 1} ${tail}${when}`;
  });
  parts.push(`{ ${subs.join('; ')} }`);
  if (spec.stopAt !== null) parts.push(`(producer stops at frame ${spec.stopAt})`);
  return parts.join(' → ');
}

/** What each subscriber saw, and where the share's sequence stood when it joined. */
interface SharedReader {
  /** Messages the share had taken from its source when this subscriber joined. */
  base: number;
  joined: boolean;
  left: boolean;
  completed: boolean;
  error: unknown;
  readonly received: number[];
  cancel: () => void;
}

/**
 * The bound of one subscriber: the channel, the stage before the share, the share's capacity
 * and the subscriber's own tail (a pool's capacity + concurrency, one pulled message).
 */
function sharedBoundOf(spec: SharedSpec, sub: SubscriberSpec): number {
  let sum = (spec.source === 'mpsc' ? spec.channelCapacity : 0) + spec.capacity;
  if (spec.before?.stage === 'bounded') sum += spec.before.capacity;
  else if (spec.before?.stage === 'workerPool') {
    sum += spec.before.capacity + spec.before.concurrency;
  }
  if (sub.tail.kind === 'pool') sum += sub.tail.capacity + sub.tail.concurrency;
  else if (sub.tail.kind === 'pull') sum += 1;
  return sum + SLACK;
}

/**
 * Books of a shared run: `check` also measures how far the producer is ahead of each present
 * subscriber: entered − (the share's sequence before it joined) − what it has output.
 */
class SharedBooks extends Books {
  /** Ids as the share took them from its source. */
  readonly shared: number[] = [];
  readonly readers: SharedReader[] = [];
  /** The most messages the producer was ever ahead of a present subscriber. */
  worstAhead = 0;

  constructor(private readonly spec: SharedSpec) {
    super(Number.POSITIVE_INFINITY);
  }

  override check(step: string): void {
    super.check(step);
    this.readers.forEach((r, k) => {
      if (!r.joined || r.left || r.completed) return;
      const ahead = this.entered.length - r.base - r.received.length;
      const bound = sharedBoundOf(this.spec, this.spec.subscribers[k]!);
      if (ahead > this.worstAhead) this.worstAhead = ahead;
      if (this.violation === undefined && ahead > bound) {
        this.violation = `${ahead} messages ahead of subscriber #${k + 1} after ${step}, bound ${bound}`;
      }
    });
  }
}

/** The source, seen by the share as the same pull source, recording what the share takes. */
function spied(source: Observable<Msg>, books: SharedBooks): Observable<Msg> {
  const inner = source as unknown as Pullable<Msg>;
  return new PullObservable<Msg>(
    (sink): Demand<Msg> =>
      inner[pull]({
        next: (m: Msg) => {
          books.shared.push(m.id);
          books.check('taken by the share');
          sink.next(m);
        },
        error: (e: unknown) => sink.error(e),
        complete: () => sink.complete(),
      }),
  );
}

interface SharedOutcome {
  readonly books: SharedBooks;
  readonly stalled: boolean;
}

async function runShared(spec: SharedSpec): Promise<SharedOutcome> {
  const clock = new ManualClock();
  const books = new SharedBooks(spec);
  let stopProducing = false;

  let source: Observable<Msg>;
  let channel: ReturnType<typeof mpsc<Msg>> | undefined;
  let producing: Promise<void> = Promise.resolve();
  if (spec.source === 'fromIterable') {
    const produce = function* (): Generator<Msg> {
      for (let id = 0; id < spec.messages && !stopProducing; id++) {
        books.entered.push(id);
        books.check('pull from the iterable');
        yield { id };
      }
    };
    source = fromIterable({ [Symbol.iterator]: produce });
  } else {
    channel = mpsc<Msg>(spec.channelCapacity);
    const [tx] = channel;
    source = channel[1];
    producing = (async () => {
      for (let id = 0; id < spec.messages && !stopProducing; id++) {
        try {
          await tx.send({ id });
        } catch {
          return;
        }
        books.entered.push(id);
        books.check('send accepted');
      }
      tx.close();
    })();
  }
  if (spec.before)
    source = source.pipe(
      stageOf(spec.before, 0, books, clock, undefined, []).op,
    ) as Observable<Msg>;
  // completed stays completed: a subscriber joining after the end gets nothing, not a new run
  const shared = spied(source, books).pipe(
    shareBounded<Msg>(spec.capacity, { resetOnComplete: false }),
  );

  const join = (k: number): void => {
    const sub = spec.subscribers[k]!;
    const reader = books.readers[k]!;
    reader.joined = true;
    reader.base = books.shared.length;
    const sink = {
      next: (m: unknown) => {
        reader.received.push((m as Msg).id);
        books.check(`output of subscriber #${k + 1}`);
      },
      error: (e: unknown) => {
        reader.error = e;
      },
      complete: () => {
        reader.completed = true;
        books.check(`subscriber #${k + 1} completed`);
      },
    };
    if (sub.tail.kind === 'pool') {
      const tail = sub.tail;
      const s = shared
        .pipe(
          workerPool(
            (m: Msg) =>
              job(books, k + 1, tail.durations[m.id % tail.durations.length]!, clock, () => m),
            { concurrency: tail.concurrency, capacity: tail.capacity },
          ),
        )
        .subscribe(sink);
      reader.cancel = () => s.unsubscribe();
    } else if (sub.tail.kind === 'subscribe') {
      const s = shared.subscribe(sink);
      reader.cancel = () => s.unsubscribe();
    } else {
      const pace = sub.tail.pace;
      const demand = (shared as unknown as Pullable<Msg>)[pull](sink);
      let ticker: Subscription | undefined;
      const tick = (): Subscription =>
        clock.schedule(() => {
          if (reader.completed || reader.error !== undefined || reader.left) return;
          ticker = tick();
          demand.request(1);
        }, pace);
      demand.request(1);
      ticker = tick();
      reader.cancel = () => {
        ticker?.unsubscribe();
        demand.cancel();
      };
    }
    books.check(`subscriber #${k + 1} joined`);
  };
  for (let k = 0; k < spec.subscribers.length; k++) {
    books.readers.push({
      base: 0,
      joined: false,
      left: false,
      completed: false,
      error: undefined,
      received: [],
      cancel: () => undefined,
    });
  }

  const settled = (): boolean =>
    books.readers.every((r) => r.joined && (r.completed || r.left || r.error !== undefined));
  let stalled = false;
  let quietSince = 0;
  let events = -1;
  for (let frame = 0; !settled(); frame++) {
    await flush(3);
    if (frame === spec.stopAt) stopProducing = true;
    spec.subscribers.forEach((sub, k) => {
      const reader = books.readers[k]!;
      if (!reader.joined && sub.joinAt === frame) join(k);
      if (reader.joined && !reader.completed && !reader.left && sub.leaveAt === frame) {
        reader.left = true;
        reader.cancel();
        books.check(`subscriber #${k + 1} left`);
      }
    });
    if (books.events !== events) {
      events = books.events;
      quietSince = frame;
    } else if (frame - quietSince > 3000) {
      stalled = true;
      break;
    }
    clock.advance(1);
  }
  await flush(3);
  for (const r of books.readers) r.cancel();
  if (channel) {
    const [, rx] = channel;
    rx.close();
    for (;;) {
      const got = rx.tryRecv();
      if (!got.ok) break;
      books.leftover.push(got.value.id);
    }
    stopProducing = true;
    await producing;
  }
  return { books, stalled };
}

const sorted = (ids: readonly number[]): number[] => [...ids].sort((a, b) => a - b);

/**
 * The books of a shared run. The share takes every accepted message once, in order (what is
 * left in the channel excepted). Subscriber k, joining when the share had taken `base` messages,
 * must output exactly `shared.slice(base)`: in that order when it pulls, as a multiset through
 * its pool; a subscriber that left output part of it (a prefix when it pulls).
 */
function sharedVerdict(spec: SharedSpec, outcome: SharedOutcome): string | undefined {
  const { books } = outcome;
  const where = books.readers.map((r, k) => `#${k + 1}: base ${r.base}, got [${r.received}]`);
  if (outcome.stalled)
    return `the shared pipeline stalled (shared [${books.shared}]; ${where.join('; ')})`;
  if (books.violation) return `bound exceeded: ${books.violation}`;
  for (let i = 0; i < spec.subscribers.length + 1; i++) {
    const limit =
      i === 0
        ? spec.before?.stage === 'workerPool'
          ? spec.before.concurrency
          : Number.POSITIVE_INFINITY
        : (() => {
            const tail = spec.subscribers[i - 1]!.tail;
            return tail.kind === 'pool' ? tail.concurrency : Number.POSITIVE_INFINITY;
          })();
    if ((books.maxRunning[i] ?? 0) > limit)
      return `stage ${i} ran ${books.maxRunning[i]} jobs, limit ${limit}`;
  }
  const accepted = minus(books.entered, books.leftover);
  if (sorted(accepted).join() !== books.shared.join()) {
    return `the share took [${books.shared}] of the accepted [${sorted(accepted)}]`;
  }
  for (let k = 0; k < books.readers.length; k++) {
    const r = books.readers[k]!;
    const tail = spec.subscribers[k]!.tail;
    if (r.error !== undefined) return `subscriber #${k + 1} errored: ${String(r.error)}`;
    const expected = books.shared.slice(r.base);
    if (r.left) {
      const extra = minus(r.received, expected);
      if (extra.length > 0) return `subscriber #${k + 1} (left) got [${extra}] it should not`;
      if (tail.kind !== 'pool' && r.received.some((id, j) => expected[j] !== id)) {
        return `subscriber #${k + 1} (left) got [${r.received}], not a prefix of [${expected}]`;
      }
      continue;
    }
    if (!r.completed) return `subscriber #${k + 1} did not complete (${where[k]})`;
    const same =
      tail.kind !== 'pool'
        ? r.received.join() === expected.join()
        : sorted(r.received).join() === sorted(expected).join();
    if (!same)
      return `subscriber #${k + 1} output [${r.received}], expected [${expected}] (base ${r.base})`;
  }
  return undefined;
}

describe('pipelines of sluice stages', () => {
  it(`hold the bound, lose nothing and never stall (${RUNS} random pipelines)`, async () => {
    await fc.assert(
      fc.asyncProperty(pipelineSpec, async (spec) => {
        const outcome = await runPipeline(spec);
        const wrong = verdict(spec, outcome);
        if (wrong) throw new Error(`${wrong}\n  in ${describePipeline(spec)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it(`a shareBounded stage holds the bound per subscriber, loses nothing for any and never stalls (${SHARE_RUNS} random pipelines)`, async () => {
    await fc.assert(
      fc.asyncProperty(sharedSpec, async (spec) => {
        const outcome = await runShared(spec);
        const wrong = sharedVerdict(spec, outcome);
        if (wrong) throw new Error(`${wrong}\n  in ${describeShared(spec)}`);
      }),
      { numRuns: SHARE_RUNS },
    );
  });

  // Fixed pipelines: the books of the harness itself, and the first pipeline a user writes.
  const pool = (concurrency: number, ordered = false): StageSpec => ({
    stage: 'workerPool',
    concurrency,
    capacity: 3,
    ordered,
    overflow: 'block',
    durations: [2, 0, 5],
  });
  const fixed: { name: string; spec: PipelineSpec }[] = [
    {
      name: 'fromIterable → bounded → workerPool',
      spec: base([{ stage: 'bounded', capacity: 2, overflow: 'block' }, pool(2)], [[], [], []]),
    },
    {
      name: 'mpsc → workerPool → dedupe, drained by the pool signal',
      spec: {
        ...base([pool(3), { stage: 'dedupe', keyDiv: 2 }], [[], [], []], 'mpsc'),
        drain: { at: 7, how: 'poolSignal' },
      },
    },
    ...[3, 6, 11].map((at) => ({
      name: `mpsc → bounded(4) → workerPool, drained by the pool signal at frame ${at}`,
      spec: {
        ...base(
          [{ stage: 'bounded', capacity: 4, overflow: 'block' }, pool(2)],
          [[], [], []],
          'mpsc',
        ),
        drain: { at, how: 'poolSignal' as const },
      },
    })),
    {
      name: 'fromIterable → bounded → atLeastOnce with dead letters',
      spec: base(
        [
          { stage: 'bounded', capacity: 2, overflow: 'block' },
          {
            stage: 'atLeastOnce',
            concurrency: 2,
            capacity: 2,
            overflow: 'block',
            durations: [1, 3],
            poisonEvery: 4,
            maxAttempts: 2,
          },
        ],
        [[{ op: 'take', count: 100 }], [], [{ op: 'filter', keepEvery: 3 }]],
      ),
    },
    {
      name: 'fromIterable → workerPool(8) → map → atLeastOnce(2)',
      spec: base(
        [
          pool(8),
          {
            stage: 'atLeastOnce',
            concurrency: 2,
            capacity: 4,
            overflow: 'block',
            durations: [3],
            poisonEvery: 0,
            maxAttempts: 1,
          },
        ],
        [[], [{ op: 'map' }], []],
      ),
    },
    {
      name: 'mpsc → workerPool → filter(1 in 100) → workerPool(ordered), pulled slowly',
      spec: {
        ...base([pool(2), pool(2, true)], [[], [{ op: 'filter', keepEvery: 100 }], []], 'mpsc'),
        messages: 300,
        consumer: { kind: 'pull', pace: 3 },
      },
    },
  ];
  for (const { name, spec } of fixed) {
    it(name, async () => {
      const outcome = await runPipeline(spec);
      expect(verdict(spec, outcome)).toBeUndefined();
      if (spec.drain) expect(drainHow(spec)).toBe(spec.drain.how);
      expect(outcome.books.output.length).toBeGreaterThan(0);
    });
  }

  it('a two-stage pipeline with a filter between is described readably', () => {
    const spec: PipelineSpec = {
      source: 'fromIterable',
      channelCapacity: 1,
      messages: 3,
      ops: [[], [{ op: 'filter', keepEvery: 2 }], []],
      stages: [
        {
          stage: 'workerPool',
          concurrency: 2,
          capacity: 1,
          ordered: true,
          overflow: 'block',
          durations: [1],
        },
        { stage: 'bounded', capacity: 2, overflow: 'block' },
      ],
      consumer: { kind: 'subscribe' },
      drain: null,
    };
    expect(describePipeline(spec)).toBe(
      'fromIterable(3) → workerPool(concurrency 2, capacity 1, ordered, block, takes [1]) → filter(id % 2 == 0) → bounded(2, block) → subscribe',
    );
    expect(boundOf(spec)).toBe(2 + 1 + 2 + SLACK);
  });
});
