/**
 * Channel benchmarks: sluice's channels beside RxJS and the async-iterator libraries people
 * reach for, measured in one run and reported as ratios.
 *
 * Targets (the project's own):
 * - `mpsc` with a plain subscriber, `trySend` in a loop: at least 0.5x the messages per second
 *   of `Subject.next` into a subscriber;
 * - `await tx.send()` with a `for await` consumer, capacity 100: at least 2x the fastest of
 *   it-pushable, @repeaterjs/repeater and Effect's `Queue.bounded` doing the same hand-off;
 * - `broadcast` with 100 subscribers: buffer memory independent of the subscriber count.
 *
 * Also measured for reference: the `await rx.recv()` consumer, `tx.next` (the Observer path),
 * and a minimal hand-written channel (`minimalChannel.ts`), the floor of a Promise hand-off.
 * @module
 */
import { FixedBuffer, Repeater } from '@repeaterjs/repeater';
import { Effect, Fiber, Queue } from 'effect';
import { pushable } from 'it-pushable';
import { ReplaySubject, Subject } from 'rxjs';
import * as sluice from '../src/index.js';
import { mpsc } from '../src/index.js';
import {
  canMeasureHeap,
  compareRates,
  measureHeap,
  type Row,
  row,
  settledHeap,
  type Workload,
} from './harness.js';
import { MinimalChannel } from './minimalChannel.js';

const group = 'channels';
/** Buffer size of every async hand-off. */
const CAPACITY = 100;

/** Every workload sums what it received and checks it, so a broken hand-off cannot look fast. */
function expectSum(sum: number, n: number, what: string): void {
  const expected = (n * (n - 1)) / 2;
  if (sum !== expected) throw new Error(`${what}: received sum ${sum}, expected ${expected}`);
}

// ---- synchronous push into one plain subscriber ----------------------------------------

const pushCases = {
  subject(n: number): void {
    const subject = new Subject<number>();
    let sum = 0;
    const sub = subject.subscribe((v) => {
      sum += v;
    });
    for (let i = 0; i < n; i++) subject.next(i);
    sub.unsubscribe();
    expectSum(sum, n, 'Subject');
  },
  trySend(n: number): void {
    const [tx, rx] = mpsc<number>(CAPACITY);
    let sum = 0;
    const sub = rx.subscribe((v) => {
      sum += v;
    });
    for (let i = 0; i < n; i++) {
      if (!tx.trySend(i).ok) throw new Error('trySend refused a message');
    }
    sub.unsubscribe();
    expectSum(sum, n, 'mpsc trySend');
  },
  next(n: number): void {
    const [tx, rx] = mpsc<number>(CAPACITY);
    let sum = 0;
    const sub = rx.subscribe((v) => {
      sum += v;
    });
    for (let i = 0; i < n; i++) tx.next(i);
    sub.unsubscribe();
    expectSum(sum, n, 'mpsc next');
  },
} satisfies Record<string, Workload>;

// ---- awaited hand-off through a buffer of CAPACITY ---------------------------------------

const handoffCases = {
  /** sluice: `await tx.send()` per message, `for await` consumer. */
  async sendForAwait(n: number): Promise<void> {
    const [tx, rx] = mpsc<number>(CAPACITY);
    const producer = (async () => {
      for (let i = 0; i < n; i++) await tx.send(i);
      tx.close();
    })();
    let sum = 0;
    for await (const v of rx) sum += v;
    await producer;
    expectSum(sum, n, 'mpsc for await');
  },
  /** sluice: `await tx.send()` per message, `await rx.recv()` consumer. */
  async sendRecv(n: number): Promise<void> {
    const [tx, rx] = mpsc<number>(CAPACITY);
    const producer = (async () => {
      for (let i = 0; i < n; i++) await tx.send(i);
      tx.close();
    })();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await rx.recv();
    await producer;
    expectSum(sum, n, 'mpsc recv');
  },
  /** The floor: a hand-written bounded channel, `for await` consumer. */
  async minimalForAwait(n: number): Promise<void> {
    const ch = new MinimalChannel<number>(CAPACITY);
    const producer = (async () => {
      for (let i = 0; i < n; i++) await ch.send(i);
      ch.close();
    })();
    let sum = 0;
    for await (const v of ch) sum += v;
    await producer;
    expectSum(sum, n, 'minimal for await');
  },
  /** The floor: a hand-written bounded channel, `await recv()` consumer. */
  async minimalRecv(n: number): Promise<void> {
    const ch = new MinimalChannel<number>(CAPACITY);
    const producer = (async () => {
      for (let i = 0; i < n; i++) await ch.send(i);
      ch.close();
    })();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += await ch.recv();
    await producer;
    expectSum(sum, n, 'minimal recv');
  },
  /**
   * it-pushable has no bounded send: `push` never waits. Its documented way to hold a producer
   * back is `onEmpty()`, awaited here whenever CAPACITY messages are buffered.
   */
  async itPushable(n: number): Promise<void> {
    const source = pushable<number>({ objectMode: true });
    const producer = (async () => {
      for (let i = 0; i < n; i++) {
        source.push(i);
        if (source.readableLength >= CAPACITY) await source.onEmpty();
      }
      source.end();
    })();
    let sum = 0;
    for await (const v of source) sum += v;
    await producer;
    expectSum(sum, n, 'it-pushable');
  },
  /** Repeater with `FixedBuffer(CAPACITY)`: `await push()` waits while the buffer is full. */
  async repeater(n: number): Promise<void> {
    const source = new Repeater<number>(async (push, stop) => {
      for (let i = 0; i < n; i++) await push(i);
      stop();
    }, new FixedBuffer(CAPACITY));
    let sum = 0;
    for await (const v of source) sum += v;
    expectSum(sum, n, 'repeater');
  },
  /**
   * Effect's `Queue.bounded(CAPACITY)` the idiomatic way: a forked producer fiber offering, the
   * main fiber taking; `yield*` is Effect's await.
   */
  async effectQueue(n: number): Promise<void> {
    const sum = await Effect.runPromise(
      Effect.gen(function* () {
        const queue = yield* Queue.bounded<number>(CAPACITY);
        const producer = yield* Effect.forkChild(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) yield* Queue.offer(queue, i);
          }),
        );
        let total = 0;
        for (let i = 0; i < n; i++) total += yield* Queue.take(queue);
        yield* Fiber.join(producer);
        return total;
      }),
    );
    expectSum(sum, n, 'effect Queue.bounded');
  },
} satisfies Record<string, Workload>;

const peers = {
  itPushable: 'it-pushable, onEmpty() when 100 buffered',
  repeater: '@repeaterjs/repeater, FixedBuffer(100)',
  effectQueue: 'effect Queue.bounded(100), fibers',
} as const;

async function throughputRows(): Promise<Row[]> {
  const push = await compareRates(pushCases, { warmup: 3, runs: 7, runMs: 150 });
  const hand = await compareRates(handoffCases, { warmup: 2, runs: 5, runMs: 200 });
  const rate = 'msg/s';
  const rows: Row[] = [
    row({
      group,
      name: 'mpsc trySend → plain subscriber',
      unit: rate,
      value: push.trySend.best,
      baseline: 'Subject.next → plain subscriber',
      baselineValue: push.subject.best,
      target: '>= 0.5x',
    }),
    row({
      group,
      name: 'mpsc tx.next → plain subscriber',
      unit: rate,
      value: push.next.best,
      baseline: 'Subject.next → plain subscriber',
      baselineValue: push.subject.best,
    }),
  ];

  const peerNames = Object.keys(peers) as Array<keyof typeof peers>;
  const fastest = peerNames.reduce((a, b) => (hand[b].best > hand[a].best ? b : a));
  rows.push(
    row({
      group,
      name: 'mpsc(100) await send → for await',
      unit: rate,
      value: hand.sendForAwait.best,
      baseline: `fastest peer: ${peers[fastest]}`,
      baselineValue: hand[fastest].best,
      target: '>= 2x',
    }),
  );
  for (const peer of peerNames) {
    rows.push(
      row({
        group,
        name: 'mpsc(100) await send → for await',
        unit: rate,
        value: hand.sendForAwait.best,
        baseline: peers[peer],
        baselineValue: hand[peer].best,
      }),
    );
  }
  rows.push(
    row({
      group,
      name: 'mpsc(100) await send → for await',
      unit: rate,
      value: hand.sendForAwait.best,
      baseline: 'hand-written channel(100) → for await',
      baselineValue: hand.minimalForAwait.best,
    }),
    row({
      group,
      name: 'mpsc(100) await send → await recv()',
      unit: rate,
      value: hand.sendRecv.best,
      baseline: 'hand-written channel(100) → await recv()',
      baselineValue: hand.minimalRecv.best,
    }),
    row({
      group,
      name: 'mpsc(100) await send → await recv()',
      unit: rate,
      value: hand.sendRecv.best,
      baseline: `fastest peer: ${peers[fastest]}`,
      baselineValue: hand[fastest].best,
    }),
  );
  return rows;
}

// ---- broadcast buffer memory -------------------------------------------------------------

/** Messages buffered per subscriber; also the broadcast's capacity, so nobody lags. */
const BUFFERED = 8192;
const SUBSCRIBERS = [1, 100, 1000] as const;
/** The RxJS baseline grows by subscribers × messages; 1000 would only take time. */
const REPLAY_SUBSCRIBERS = [1, 100] as const;

interface Msg {
  readonly seq: number;
}

/**
 * What the bench needs of `broadcast`, looked up and checked at run time so that this file
 * compiles and runs (skipping the rows) while `broadcast` is missing or changes shape: a
 * sender with `next` (every sluice sender is an Observer) and a receiver that several
 * `for await` loops can iterate, each with its own cursor.
 */
interface BroadcastLike {
  readonly tx: { next(value: Msg): void; complete?(): void };
  /** `close()`, where present, retires the handle's own cursor (it would read nothing). */
  readonly rx: AsyncIterable<Msg> & { close?(): void };
}
export type BroadcastFactory = (capacity: number) => BroadcastLike;

function findBroadcast(): BroadcastFactory | string {
  const candidate = (sluice as Record<string, unknown>).broadcast;
  if (typeof candidate !== 'function') return 'skipped: broadcast is not exported by sluice yet';
  return (capacity) => {
    const pair: unknown = candidate(capacity);
    const [tx, rx] = Array.isArray(pair) ? pair : [];
    if (typeof (tx as { next?: unknown } | undefined)?.next !== 'function') {
      throw new TypeError('broadcast(capacity) did not return [tx, rx] with tx.next');
    }
    if (
      typeof (rx as Partial<AsyncIterable<Msg>> | undefined)?.[Symbol.asyncIterator] !== 'function'
    ) {
      throw new TypeError('broadcast(capacity) did not return an async-iterable rx');
    }
    return { tx, rx } as BroadcastLike;
  };
}

/**
 * A fan-out with slow consumers attached: each has taken the first message (so any lazily
 * created cursor exists and no request is pending) and then stopped asking.
 */
interface Fanout {
  send(value: Msg): void;
  teardown(): Promise<void>;
}

interface Footprint {
  /** Heap grown while the messages were sent, plus the channel's own allocation, per message. */
  bufferPerMessage: number;
  /** Heap taken by attaching a subscriber and handing it the first message. */
  perSubscriber: number;
}

/**
 * Heap retained while `subscribers` slow consumers each hold `messages.length - 1` messages,
 * the median of `tries` tries. The messages are allocated beforehand, so only what the fan-out
 * keeps for them counts. `alone` is the channel's own allocation, counted as buffer (a ring
 * allocated up front is buffer too).
 */
async function footprint(
  open: (subscribers: number, first: Msg) => Promise<Fanout>,
  alone: number,
  subscribers: number,
  messages: readonly Msg[],
  tries = 3,
): Promise<Footprint> {
  const results: Footprint[] = [];
  for (let t = 0; t < tries; t++) {
    const before = settledHeap();
    const fanout = await open(subscribers, messages[0]!);
    const attached = settledHeap();
    for (let i = 1; i < messages.length; i++) fanout.send(messages[i]!);
    const filled = settledHeap();
    await fanout.teardown();
    results.push({
      bufferPerMessage: (alone + filled - attached) / (messages.length - 1),
      perSubscriber: (attached - before - alone) / subscribers,
    });
  }
  results.sort((a, b) => a.bufferPerMessage - b.bufferPerMessage);
  return results[results.length >> 1]!;
}

function openBroadcast(factory: BroadcastFactory) {
  return async (subscribers: number, first: Msg): Promise<Fanout> => {
    const { tx, rx } = factory(BUFFERED);
    // Only the loops below are to hold messages, not the handle's own `recv()` cursor.
    rx.close?.();
    const iterators: AsyncIterator<Msg>[] = [];
    const firsts: Promise<IteratorResult<Msg>>[] = [];
    for (let i = 0; i < subscribers; i++) {
      const it = rx[Symbol.asyncIterator]();
      iterators.push(it);
      firsts.push(it.next());
    }
    tx.next(first);
    for (const result of await Promise.all(firsts)) {
      if (result.done || result.value !== first) throw new Error('a subscriber missed a message');
    }
    return {
      send: (m) => tx.next(m),
      async teardown() {
        for (const it of iterators) await it.return?.();
        tx.complete?.();
      },
    };
  };
}

/** Plain RxJS: one Subject, and a ReplaySubject(capacity) per subscriber as its buffer. */
async function openReplayPerSubscriber(subscribers: number, first: Msg): Promise<Fanout> {
  const subject = new Subject<Msg>();
  const buffers: ReplaySubject<Msg>[] = [];
  for (let i = 0; i < subscribers; i++) {
    const buffer = new ReplaySubject<Msg>(BUFFERED);
    subject.subscribe(buffer);
    buffers.push(buffer);
  }
  subject.next(first);
  return {
    send: (m) => subject.next(m),
    async teardown() {
      subject.complete();
      buffers.length = 0;
    },
  };
}

/**
 * Unrecorded passes first: compiling and optimizing the code under test allocates heap too,
 * and would be counted as buffer.
 */
async function warmUp(
  open: (subscribers: number, first: Msg) => Promise<Fanout>,
  messages: readonly Msg[],
): Promise<void> {
  for (const k of [1, 100, 1]) await footprint(open, 0, k, messages, 1);
}

/**
 * The broadcast memory rows. `found` is sluice's `broadcast` (or why it is missing); a
 * stand-in can be passed to check the measurement itself.
 */
export async function broadcastRows(
  found: BroadcastFactory | string = findBroadcast(),
): Promise<Row[]> {
  const name = (k: number) => `broadcast(${BUFFERED}), ${k} slow subscribers: buffer`;
  const replayName = (k: number) => `Subject + ReplaySubject(${BUFFERED}) each, ${k} subscribers`;
  const unit = 'B/msg';
  if (!canMeasureHeap()) {
    return [
      row({
        group,
        name: name(100),
        unit,
        value: Number.NaN,
        baseline: name(1),
        baselineValue: Number.NaN,
        higherIsBetter: false,
        target: '<= 1.5x',
        note: 'skipped: run node with --expose-gc (npm run bench does)',
      }),
    ];
  }
  const messages: Msg[] = Array.from({ length: BUFFERED }, (_, seq) => ({ seq }));
  await warmUp(openReplayPerSubscriber, messages);
  const replay = new Map<number, Footprint>();
  for (const k of REPLAY_SUBSCRIBERS) {
    replay.set(k, await footprint(openReplayPerSubscriber, 0, k, messages));
  }
  const replay100 = replay.get(100)!;

  let sluiceFootprints: Map<number, Footprint> | undefined;
  let skipped: string | undefined = typeof found === 'string' ? found : undefined;
  let aloneBytes = 0;
  if (typeof found !== 'string') {
    try {
      await warmUp(openBroadcast(found), messages);
      const alone: number[] = [];
      for (let t = 0; t < 3; t++) {
        const measured = await measureHeap(() => found(BUFFERED));
        measured.result.tx.complete?.();
        alone.push(measured.bytes);
      }
      aloneBytes = Math.max(0, alone.sort((a, b) => a - b)[1]!);
      sluiceFootprints = new Map();
      for (const k of SUBSCRIBERS) {
        sluiceFootprints.set(k, await footprint(openBroadcast(found), aloneBytes, k, messages));
      }
    } catch (err) {
      skipped = `skipped: ${err instanceof Error ? err.message : String(err)}`;
      sluiceFootprints = undefined;
    }
  }

  const at = (k: number) => sluiceFootprints?.get(k)?.bufferPerMessage ?? Number.NaN;
  const perSub = (k: number) => sluiceFootprints?.get(k)?.perSubscriber ?? Number.NaN;
  const setupNote = (k: number) =>
    skipped ??
    `attaching each subscriber took ${perSub(k).toFixed(0)} B (not buffer); the channel alone ` +
      `${aloneBytes} B, counted in the buffer`;
  return [
    row({
      group,
      name: name(100),
      unit,
      value: at(100),
      baseline: name(1),
      baselineValue: at(1),
      higherIsBetter: false,
      target: '<= 1.5x',
      note: setupNote(100),
    }),
    row({
      group,
      name: name(1000),
      unit,
      value: at(1000),
      baseline: name(1),
      baselineValue: at(1),
      higherIsBetter: false,
      ...(skipped === undefined ? {} : { note: skipped }),
    }),
    row({
      group,
      name: name(100),
      unit,
      value: at(100),
      baseline: replayName(100),
      baselineValue: replay100.bufferPerMessage,
      higherIsBetter: false,
      note:
        `RxJS baseline per message: ${REPLAY_SUBSCRIBERS.map(
          (k) => `${replay.get(k)!.bufferPerMessage.toFixed(1)} B at ${k}`,
        ).join(', ')} subscribers` + (skipped === undefined ? '' : `; sluice ${skipped}`),
    }),
  ];
}

export async function run(): Promise<Row[]> {
  return [...(await throughputRows()), ...(await broadcastRows())];
}
