import { finalize, type Observable, tap } from 'rxjs';
import {
  atLeastOnce,
  bounded,
  broadcast,
  ChannelFullError,
  type Delivered,
  dedupe,
  type OverflowPolicy,
  workerPool,
} from '../../src/index.js';
// not re-exported from src/index.ts yet
import { MessageQueue } from '../../src/queue/index.js';
import { batchSizeTime, rateLimitWindow } from './flowScenarios.js';
import type { Format, Scenario, Timeline } from './timeline.js';

/**
 * The scenarios drawn in docs/diagrams. Each one runs the real operators in virtual time; the
 * rows are whatever they emitted, and when. spec/diagrams.spec.ts checks both the recordings
 * and that the committed SVGs are what the renderer makes of them.
 */

const fullError: Format = (err) =>
  err instanceof ChannelFullError ? `ChannelFullError(${String(err.value)})` : String(err);

/**
 * A job whose result comes `frames(job)` frames after it starts, then completes one frame
 * later (the worker is busy until then), as `cold('---X|')` in the operator specs. `started`
 * is told when it starts and may return what to call when it ends.
 */
function slowJob<T>(
  t: Timeline,
  frames: (job: T) => number,
  result: (job: T) => string,
  started: (job: T, workerId: number) => ((suffix?: string) => void) | undefined = () => undefined,
) {
  return (job: T, { workerId }: { workerId: number }): Observable<string> => {
    const end = started(job, workerId);
    return t.helpers.cold(`${'-'.repeat(frames(job))}X|`, { X: result(job) }).pipe(
      tap({ complete: () => end?.() }),
      finalize(() => end?.(' cancelled')),
    );
  };
}

export function boundedScenario(overflow: OverflowPolicy): Scenario {
  const policy = `bounded(2, { overflow: '${overflow}' })`;
  const captions: Record<OverflowPolicy, string> = {
    block:
      "A push source cannot wait, so under 'block' the first message that does not fit (d) stops the source; the output fails with ChannelFullError carrying d once the messages buffered before it were taken and have run. 'error' does the same.",
    error: 'Same as block for a push source.',
    drop: "Capacity 2 in front of one worker, busy 4 frames per job (its result after 3). a goes straight to the worker, b and c fill the buffer, and under 'drop' the incoming d is discarded and reported to onOverflow.",
    replace:
      "Capacity 2 in front of one worker, busy 4 frames per job (its result after 3). When d arrives the buffer holds b and c; under 'replace' the oldest (b) is discarded and reported, so the worker sees the newest messages.",
  };
  return {
    name: `bounded-${overflow}`,
    title: `${policy} in front of a slow workerPool`,
    caption: captions[overflow],
    build(t) {
      const source = t.helpers.hot('-abcd|');
      t.observe('source', 'input', source);
      t.operator(`${policy}, workerPool(job, { concurrency: 1 })`);
      const work = t.spans('worker');
      // 'block' and 'error' discard nothing: the refused message is carried by the error
      const discards = overflow === 'drop' || overflow === 'replace';
      const report = discards ? t.notes('onOverflow') : () => {};
      const output = source.pipe(
        bounded(2, { overflow, onOverflow: (x, how) => report(`${how} ${x}`) }),
        workerPool(
          slowJob<string>(
            t,
            () => 3,
            (x) => x,
            (x) => work(x),
          ),
          { concurrency: 1 },
        ),
      );
      t.observe('output', 'output', output, String, fullError);
    },
  };
}

const workerPoolOrdered: Scenario = {
  name: 'workerPool-ordered',
  title: 'workerPool: results as they finish, or in input order',
  caption:
    'Concurrency 2; job a gives its result after 5 frames, job b after 1. By default B is emitted when it is ready; with ordered: true it is held until A, so results keep input order (Akka mapAsync).',
  build(t) {
    const source = t.helpers.cold('ab|');
    const frames: Record<string, number> = { a: 5, b: 1 };
    t.observe('source', 'input', source);
    const job = (workers?: Array<(label: string) => (suffix?: string) => void>) =>
      slowJob<string>(
        t,
        (x) => frames[x] ?? 0,
        (x) => x.toUpperCase(),
        (x, id) => workers?.[id]?.(x),
      );
    t.operator('workerPool(work, { concurrency: 2 })');
    const workers = [t.spans('worker 0'), t.spans('worker 1')];
    t.observe('unordered', 'output', source.pipe(workerPool(job(workers), { concurrency: 2 })));
    t.operator('workerPool(work, { concurrency: 2, ordered: true })');
    t.observe(
      'ordered',
      'output',
      source.pipe(workerPool(job(), { concurrency: 2, ordered: true })),
    );
  },
};

const workerPoolConcurrency: Scenario = {
  name: 'workerPool-concurrency',
  title: 'workerPool: two workers, four jobs',
  caption:
    'Concurrency 2, each result 4 frames after its job starts. c arrives at 5 while both workers are busy and waits in the queue until worker 0 frees at 6; results are emitted as jobs finish.',
  build(t) {
    const source = t.helpers.hot('-a-b-c-d-|');
    t.observe('source', 'input', source);
    t.operator('workerPool(work, { concurrency: 2 })');
    const workers = [t.spans('worker 0'), t.spans('worker 1')];
    const work = slowJob<string>(
      t,
      () => 4,
      (x) => x.toUpperCase(),
      (x, id) => workers[id]?.(x),
    );
    t.observe('output', 'output', source.pipe(workerPool(work, { concurrency: 2 })));
  },
};

const broadcastLag: Scenario = {
  name: 'broadcast-lag',
  title: 'broadcast(2): a plain subscriber never lags, a slow pull consumer does',
  caption:
    'The sender never waits. A plain subscriber takes each message as it is sent. A workerPool reading the same channel is a pull consumer: it falls more than capacity 2 behind, so the messages overwritten in the ring are skipped and reported to onLag.',
  build(t) {
    const source = t.helpers.hot('-abcdefg|');
    let lag = (_note: string): void => {};
    const [tx, rx] = broadcast<string>(2, { onLag: (n) => lag(`skipped ${n}`) });
    rx.close(); // the handle's own recv() cursor is not used here
    t.observe('tx.send', 'input', source);
    t.observe('subscribe', 'output', rx);
    t.operator('rx.pipe(workerPool(job, { concurrency: 1 }))');
    const work = t.spans('worker');
    const pool = rx.pipe(
      workerPool(
        slowJob<string>(
          t,
          () => 2,
          (x) => x,
          (x) => work(x),
        ),
      ),
    );
    lag = t.notes('onLag');
    t.observe('pull consumer', 'output', pool);
    source.subscribe(tx);
  },
};

const delivered: Format = (d) => {
  const { message, attempts } = d as Delivered<string, string>;
  return `${message}#${attempts}`;
};

/**
 * `deliver` for the atLeastOnce scenarios: the attempt's marble comes from `plan(message,
 * attempt)`; its first value is the ack. Each attempt is a span from its start until it is
 * acked or abandoned (its signal aborts).
 */
function deliverWith(t: Timeline, plan: (message: string, attempt: number) => string) {
  const attempts = t.spans('attempts');
  return (message: string, { attempt, signal }: { attempt: number; signal: AbortSignal }) => {
    const end = attempts(`${message}#${attempt}`);
    signal.addEventListener('abort', () =>
      end(
        signal.reason instanceof Error && /no ack/.test(signal.reason.message)
          ? ' timeout'
          : ' error',
      ),
    );
    return t.helpers
      .cold(plan(message, attempt), { k: 'ok' }, new Error('refused'))
      .pipe(tap(() => end(' ack')));
  };
}

const atLeastOnceAck: Scenario = {
  name: 'atLeastOnce-ack',
  title: 'atLeastOnce: every message acked in time',
  caption:
    'Each attempt must be acked within ackTimeout (4 frames), counted from its start. Both acks come 2 frames after delivery, so each message is emitted once, after its first attempt (#1).',
  build(t) {
    const source = t.helpers.hot('-a---b--|');
    t.observe('source', 'input', source);
    t.operator('atLeastOnce(deliver, { ackTimeout: 4 })');
    const deliver = deliverWith(t, () => '--(k|)');
    const output = source.pipe(atLeastOnce(deliver, { ackTimeout: 4, scheduler: t.scheduler }));
    t.observe('output', 'output', output, delivered);
  },
};

const atLeastOnceRetry: Scenario = {
  name: 'atLeastOnce-retry',
  title: 'atLeastOnce: timeout, retry with backoff, stale ack ignored',
  caption:
    'Attempt 1 is not acked within ackTimeout 3 and is abandoned; the retry waits 2 frames. Attempt 2 fails; the next retry waits 4 (factor 2). Attempt 3 is acked. The late ack of attempt 1 is reported to onStaleAck, never emitted.',
  build(t) {
    const source = t.helpers.hot('-a|');
    t.observe('source', 'input', source);
    t.operator('atLeastOnce(deliver, { ackTimeout: 3, backoff: { initial: 2 } })');
    const plans = ['', '--------(k|)', '--#', '--(k|)'];
    const deliver = deliverWith(t, (_m, attempt) => plans[attempt] ?? '-');
    const retry = t.notes('onRetry');
    const stale = t.notes('onStaleAck');
    const output = source.pipe(
      atLeastOnce(deliver, {
        ackTimeout: 3,
        backoff: { initial: 2 }, // factor 2 by default
        scheduler: t.scheduler,
        onRetry: (e) => retry(`${e.reason}, wait ${e.delay}`),
        onStaleAck: (e) => stale(`late ack of #${e.attempt}`),
      }),
    );
    t.observe('output', 'output', output, delivered);
  },
};

const atLeastOnceDeadLetter: Scenario = {
  name: 'atLeastOnce-dead-letter',
  title: 'atLeastOnce: a dead letter after maxAttempts',
  caption:
    'Every attempt to deliver a fails; after 3 attempts (maxAttempts, constant backoff 1) a goes to deadLetter and its slot frees for b, which is delivered and acked. The output carries only acked messages.',
  build(t) {
    const source = t.helpers.hot('-ab|');
    t.observe('source', 'input', source);
    t.operator('atLeastOnce(deliver, { maxAttempts: 3, backoff: 1, deadLetter })');
    const deliver = deliverWith(t, (m) => (m === 'a' ? '--#' : '--(k|)'));
    const retry = t.notes('onRetry');
    const dead = t.notes('deadLetter');
    const output = source.pipe(
      atLeastOnce(deliver, {
        maxAttempts: 3,
        backoff: 1,
        scheduler: t.scheduler,
        onRetry: (e) => retry(`wait ${e.delay}`),
        deadLetter: (d) => dead(`${d.message} after ${d.attempts}`),
      }),
    );
    t.observe('output', 'output', output, delivered);
  },
};

const dedupeWindow: Scenario = {
  name: 'dedupe-ttl',
  title: 'dedupe({ ttl: 6 }): a deduplication window',
  caption:
    'A key is remembered for ttl (6 frames) after the message that passed with it. The second a (frame 4) is inside the window of the first and is dropped and reported; the third (frame 10) is outside it and passes again.',
  build(t) {
    const source = t.helpers.cold('a-b-a-----a-|');
    t.observe('source', 'input', source);
    t.operator('dedupe({ ttl: 6 })');
    const duplicate = t.notes('onDuplicate');
    // the windows are drawn from the ttl option, starting where a message passed; what is
    // recorded from dedupe itself is the output and the onDuplicate report
    const windows: Record<string, (key: string) => () => void> = {
      a: t.spans('key a'),
      b: t.spans('key b'),
    };
    const output = source.pipe(
      dedupe({ ttl: 6, scheduler: t.scheduler, onDuplicate: (m) => duplicate(`dropped ${m}`) }),
      tap((key) => {
        const forget = windows[key]?.('remembered') ?? (() => {});
        t.at(t.now() + 6, () => forget());
      }),
    );
    t.observe('output', 'output', output);
  },
};

const queueLease: Scenario = {
  name: 'queue-lease',
  title: 'MessageQueue: a delivery is a lease',
  caption:
    'visibilityTimeout 4, counted from each delivery. Consumer 1 takes a (attempt 1) and stalls; its lease runs out at 5 and a is visible again. Consumer 2 takes it as attempt 2 with a new receipt. The late ack of receipt 1 is refused, the ack of receipt 2 deletes a.',
  build(t) {
    const queue = new MessageQueue<string>({ visibilityTimeout: 4, scheduler: t.scheduler });
    const producer = t.notes('producer');
    const consumer1 = t.notes('consumer 1');
    const lease = t.spans('leases');
    const queueRow = t.notes('queue');
    const consumer2 = t.notes('consumer 2');
    const leases = new Map<string, (suffix?: string) => void>();
    const ackResult = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);
    const take = (note: (label: string) => void): string | undefined => {
      const d = queue.dequeue();
      if (d === undefined) {
        note('dequeue: empty');
        return undefined;
      }
      note(`dequeue ${d.payload}#${d.attempt}`);
      leases.set(d.receipt, lease(`${d.payload}#${d.attempt}`));
      return d.receipt;
    };
    const ack = (note: (label: string) => void, receipt: string | undefined) => {
      if (receipt === undefined) return;
      const result = queue.ack(receipt);
      note(`ack(receipt ${[...leases.keys()].indexOf(receipt) + 1}): ${ackResult(result)}`);
      if (result.ok) leases.get(receipt)?.(' acked');
    };
    let first: string | undefined;
    let second: string | undefined;
    t.at(0, () => producer(`enqueue ${queue.enqueue('a').ok ? 'a' : 'failed'}`));
    t.at(1, () => (first = take(consumer1)));
    t.at(6, () => (second = take(consumer2)));
    t.at(7, () => ack(consumer1, first));
    t.at(9, () => ack(consumer2, second));
    t.at(10, () => void queue.close());
    // The queue's own timer expires the lease. This probe reschedules itself every frame, so
    // it runs after timers armed in earlier frames and sees an expiry in the frame it happens.
    // dequeue() is the synchronous receive(): a Promise would settle outside virtual time.
    let expired = 0;
    t.scheduler.schedule(function probe() {
      const now = queue.stats().expired;
      if (now > expired) {
        expired = now;
        leases.get(first ?? '')?.(' expired');
        queueRow('lease 1 expired: a visible');
      }
      if (t.now() < 10) this.schedule(undefined, 1);
    });
  },
};

export const scenarios: readonly Scenario[] = [
  boundedScenario('drop'),
  boundedScenario('replace'),
  boundedScenario('block'),
  workerPoolOrdered,
  workerPoolConcurrency,
  broadcastLag,
  atLeastOnceAck,
  atLeastOnceRetry,
  atLeastOnceDeadLetter,
  dedupeWindow,
  queueLease,
  rateLimitWindow,
  batchSizeTime,
];
