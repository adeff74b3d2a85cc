/**
 * The demo's order pipeline, every part of sluice in one realistic flow:
 *
 *   storefront ──send──▶ orders: mpsc(capacity, policy)                 backpressure, overflow policy
 *   orders.pipe(                                                         one straight pipe() chain:
 *     workerPool(price, concurrency from a watch channel),              worker pool, live concurrency
 *     atLeastOnce(pay, ackTimeout, retries, dead letters),              at-least-once delivery
 *   )                                                                   the last stage's pace reaches the storefront
 *   pay ──enqueue──▶ payments: MessageQueue (bounded, leases)           the payment service's inbox
 *      payments.consume().pipe(idempotent(charge)) ──reply──▶ pay        exactly-once effect
 *   every status ──▶ broadcast ──▶ counters, audit log, throughput     fan-out
 *
 * Everything runs in memory with seeded randomness; `timeScale` shrinks every delay for tests.
 */
import {
  firstValueFrom,
  map,
  mergeMap,
  type Observable,
  Subject,
  Subscription,
  tap,
  throwError,
  timer,
} from 'rxjs';

import {
  atLeastOnce,
  broadcast,
  ChannelFullError,
  dedupe,
  idempotent,
  mpsc,
  type OneshotSender,
  oneshot,
  type PoolSnapshot,
  poolMetrics,
  watch,
  workerPool,
} from '../src/index.js';
import type { DemoOptions } from './options.js';
import { memoryInbox, type PaymentInbox } from './paymentInbox.js';
import { seeded } from './random.js';

export interface Order {
  readonly id: number;
  readonly items: number;
  /** A card the payment service always declines: it ends as a dead letter. */
  readonly poison: boolean;
}

export interface PricedOrder extends Order {
  readonly total: number;
}

/** A request to the payment service, waiting in its inbox. */
export interface Charge {
  readonly order: PricedOrder;
  readonly reply: OneshotSender<string>;
  readonly slowAck: boolean;
}

/** One status event, fanned out to every sink. */
export type StatusKind =
  | 'produced'
  | 'dropped'
  | 'priced'
  | 'retried'
  | 'stale-ack'
  | 'deduplicated'
  | 'dead-lettered'
  | 'processed'
  | 'concurrency';

export interface Status {
  readonly kind: StatusKind;
  readonly id: number;
  readonly detail?: string;
}

/** Counters kept by the counting sink. */
export interface Counters {
  produced: number;
  dropped: number;
  priced: number;
  retried: number;
  staleAcks: number;
  deduplicated: number;
  deadLettered: number;
  processed: number;
}

/** A point-in-time view for the live display. */
export interface Snapshot {
  readonly counters: Readonly<Counters>;
  readonly inFlight: number;
  readonly channel: { readonly size: number; readonly capacity: number };
  readonly queue: { readonly visible: number; readonly inFlight: number; readonly delayed: number };
  readonly concurrency: number;
  /** The pricing pool's and the payment stage's live counters and times. */
  readonly pools: { readonly pricing: PoolSnapshot; readonly payments: PoolSnapshot };
  readonly throughput: number;
  readonly recent: readonly string[];
  readonly elapsedMs: number;
  readonly stopping: boolean;
}

/** The final accounting: produced must equal processed + dropped + dead-lettered. */
export interface Accounting {
  readonly produced: number;
  readonly processed: number;
  readonly dropped: number;
  readonly deadLettered: number;
  readonly retried: number;
  readonly staleAcks: number;
  readonly deduplicated: number;
  readonly unaccounted: number;
  readonly balanced: boolean;
  readonly elapsedMs: number;
  readonly interrupted: boolean;
}

export interface DemoRun {
  /** Resolves with the accounting once every produced order is processed, dropped or dead. */
  readonly done: Promise<Accounting>;
  /** Every status event, as the sinks see them (a broadcast receiver: subscribe to listen). */
  readonly statuses: Observable<Status>;
  snapshot(): Snapshot;
  /** Graceful stop: the storefront stops producing; everything accepted drains. */
  stop(): void;
  /**
   * Changes the number of pricing workers (through the watch channel) and makes it the
   * autoscaler's floor, so the autoscaler does not take the change back.
   */
  setConcurrency(n: number): void;
}

const ACK_TIMEOUT = 40;
const MAX_ATTEMPTS = 4;

/**
 * Starts the pipeline. Nothing in it keeps the process alive once `done` settles. `inbox` is
 * the payment service's queue (in memory unless given, e.g. `amqpInbox` for `--amqp`); the
 * run closes it.
 */
export function runDemo(
  options: DemoOptions,
  now: () => number = () => performance.now(),
  inbox?: PaymentInbox<Charge>,
): DemoRun {
  const scale = (ms: number) => Math.max(0, Math.round(ms * options.timeScale));
  const random = seeded(options.seed);
  const started = now();
  const subscriptions = new Subscription();
  const stopProducing = new AbortController();

  // ---- status fan-out: every event reaches three independent sinks ----
  const [status, statuses] = broadcast<Status>(256);
  const counters: Counters = {
    produced: 0,
    dropped: 0,
    priced: 0,
    retried: 0,
    staleAcks: 0,
    deduplicated: 0,
    deadLettered: 0,
    processed: 0,
  };
  const field: Partial<Record<StatusKind, keyof Counters>> = {
    produced: 'produced',
    dropped: 'dropped',
    priced: 'priced',
    retried: 'retried',
    'stale-ack': 'staleAcks',
    deduplicated: 'deduplicated',
    'dead-lettered': 'deadLettered',
    processed: 'processed',
  };
  subscriptions.add(
    statuses.subscribe((s) => {
      const key = field[s.kind];
      if (key) counters[key]++;
    }),
  );
  const recent: string[] = [];
  subscriptions.add(
    statuses.subscribe((s) => {
      if (s.kind === 'produced' || s.kind === 'priced' || s.kind === 'processed') return;
      const what = s.kind === 'concurrency' ? '' : ` order ${s.id}`;
      recent.push(`${s.kind.padEnd(13)}${what}${s.detail ? `: ${s.detail}` : ''}`);
      if (recent.length > 5) recent.shift();
    }),
  );
  const finishedAt: number[] = [];
  subscriptions.add(
    statuses.subscribe((s) => {
      if (s.kind !== 'processed') return;
      finishedAt.push(now());
      while (finishedAt.length > 0 && finishedAt[0]! < now() - 1000) finishedAt.shift();
    }),
  );
  statuses.close(); // the handle's own cursor is not a reader here: only the three sinks are
  const emit = (kind: StatusKind, id: number, detail?: string) => status.send({ kind, id, detail });

  // ---- stage 1: the storefront fills a bounded channel under the chosen policy ----
  const [orders, orderQueue] = mpsc<Order>(options.capacity, {
    overflow: options.policy,
    onOverflow: (order, policy) => emit('dropped', order.id, `orders channel full (${policy})`),
  });
  const produce = async () => {
    const begin = now();
    for (let id = 1; id <= options.count && !stopProducing.signal.aborted; id++) {
      if (options.rate > 0) {
        const due = ((id - 1) / options.rate) * 1000 * options.timeScale;
        const wait = due - (now() - begin);
        if (wait >= 5) await firstValueFrom(timer(wait));
        if (stopProducing.signal.aborted) break;
      }
      const order: Order = {
        id,
        items: 1 + Math.floor(random() * 5),
        poison: random() < options.failureRate / 25,
      };
      emit('produced', id);
      try {
        await orders.send(order);
      } catch (err) {
        if (err instanceof ChannelFullError) emit('dropped', id, 'orders channel full (error)');
        else throw err;
      }
    }
    orders.close();
  };

  // ---- the payment service: its requests wait in a message queue, each order is charged once ----
  const payments =
    inbox ?? memoryInbox<Charge>({ capacity: 500, visibilityTimeout: scale(1000), maxAttempts: 3 });
  const stopService = new AbortController();
  const serviceDone = new Promise<void>((resolve, reject) => {
    subscriptions.add(
      payments
        .consume(stopService.signal) // taken = acked
        .pipe(
          idempotent(
            (charge: Charge) =>
              timer(scale(1 + random() * 3)).pipe(map(() => `paid-${charge.order.id}`)),
            {
              key: (charge) => charge.order.id,
              concurrency: 64,
              onDuplicate: (charge) =>
                emit('deduplicated', charge.order.id, 'charge already made, shared'),
            },
          ),
          mergeMap((outcome) => {
            const ack = outcome.ok ? outcome.result : 'failed';
            const delay = outcome.message.slowAck ? scale(ACK_TIMEOUT * 1.5) : scale(random() * 5);
            return timer(delay).pipe(map(() => () => outcome.message.reply.send(ack)));
          }),
        )
        .subscribe({
          next: (reply) => {
            try {
              reply();
            } catch {
              // the attempt was abandoned and its receiver closed: a stale ack nobody waits for
            }
          },
          error: reject,
          complete: resolve,
        }),
    );
  });

  const price = (order: Order) =>
    timer(scale(2 + random() * 8)).pipe(
      map((): PricedOrder => ({ ...order, total: order.items * 9.99 })),
      tap((priced) => emit('priced', priced.id)),
    );

  const pay = (order: PricedOrder): Observable<string> => {
    const fate = random();
    if (order.poison)
      return timer(scale(2)).pipe(mergeMap(() => throwError(() => new Error('card declined'))));
    if (fate < options.failureRate / 2) {
      return timer(scale(3)).pipe(
        mergeMap(() => throwError(() => new Error('503 service unavailable'))),
      );
    }
    const [reply, answer] = oneshot<string>();
    const sent = payments.enqueue({ order, reply, slowAck: fate < options.failureRate });
    if (!sent) return throwError(() => new Error('payment service overloaded'));
    return answer;
  };

  // ---- settlement: an order settles once, whichever outcome comes first ----
  const settlements = new Subject<Status>();
  subscriptions.add(
    settlements
      .pipe(
        dedupe({
          key: (s) => s.id,
          ttl: Number.POSITIVE_INFINITY,
          maxKeys: options.count,
          onDuplicate: (s) =>
            emit('deduplicated', s.id, `already settled, second ${s.kind} ignored`),
        }),
      )
      .subscribe((s) => status.send(s)),
  );
  const settle = (kind: 'processed' | 'dead-lettered', id: number, detail?: string) =>
    settlements.next({ kind, id, detail });

  // ---- the order pipeline: one straight chain; its last stage's pace reaches the storefront ----
  // The number of pricing workers lives in a watch channel.
  const [concurrency, concurrency$] = watch(options.concurrency);
  const pricingMetrics = poolMetrics();
  const paymentMetrics = poolMetrics();
  const pipelineDone = new Promise<void>((resolve, reject) => {
    subscriptions.add(
      orderQueue
        .pipe(
          workerPool(price, { concurrency: concurrency$, instrument: pricingMetrics }),
          atLeastOnce(pay, {
            concurrency: 32,
            ackTimeout: scale(ACK_TIMEOUT),
            maxAttempts: MAX_ATTEMPTS,
            backoff: { initial: scale(10), factor: 2, max: scale(80), jitter: 0.5 },
            random,
            instrument: paymentMetrics,
            deadLetter: (letter) =>
              settle(
                'dead-lettered',
                letter.message.id,
                `after ${letter.attempts} attempts: ${String(letter.error)}`,
              ),
            onRetry: (event) =>
              emit('retried', event.message.id, `attempt ${event.attempt} ${event.reason}`),
            onStaleAck: (event) =>
              emit('stale-ack', event.message.id, `late ack of attempt ${event.attempt}`),
          }),
        )
        .subscribe({
          next: (delivered) => settle('processed', delivered.message.id),
          error: reject,
          complete: resolve,
        }),
    );
  });

  // ---- an operator that watches the orders channel and sets the concurrency ----
  // It never goes below a floor: --concurrency at the start, then what setConcurrency chose.
  let floor = options.concurrency;
  subscriptions.add(
    timer(scale(100), scale(100)).subscribe(() => {
      const current = concurrency.borrow();
      const fill = orderQueue.size / options.capacity;
      if (fill > 0.75 && current < 64) setConcurrency(Math.min(64, current * 2));
      else if (fill === 0 && current > floor) setConcurrency(current - 1);
    }),
  );
  const setConcurrency = (n: number) => {
    const next = Math.max(1, Math.min(256, Math.round(n)));
    if (next === concurrency.borrow()) return;
    concurrency.send(next);
    emit('concurrency', 0, `pricing workers: ${next}`);
  };

  const snapshot = (): Snapshot => {
    const q = payments.stats();
    return {
      counters: { ...counters },
      inFlight: counters.produced - counters.processed - counters.dropped - counters.deadLettered,
      channel: { size: orderQueue.size, capacity: options.capacity },
      queue: { visible: q.visible, inFlight: q.inFlight, delayed: q.delayed },
      concurrency: concurrency.borrow(),
      pools: { pricing: pricingMetrics.snapshot(), payments: paymentMetrics.snapshot() },
      throughput: finishedAt.length,
      recent: [...recent],
      elapsedMs: now() - started,
      stopping: stopProducing.signal.aborted,
    };
  };

  const accounting = (interrupted: boolean): Accounting => {
    const unaccounted =
      counters.produced - counters.processed - counters.dropped - counters.deadLettered;
    return {
      produced: counters.produced,
      processed: counters.processed,
      dropped: counters.dropped,
      deadLettered: counters.deadLettered,
      retried: counters.retried,
      staleAcks: counters.staleAcks,
      deduplicated: counters.deduplicated,
      unaccounted,
      balanced: unaccounted === 0,
      elapsedMs: now() - started,
      interrupted,
    };
  };

  const done = (async () => {
    try {
      await produce();
      // the storefront is done: the chain drains what it accepted, then completes
      await pipelineDone;
      stopService.abort();
      await serviceDone;
      return accounting(stopProducing.signal.aborted);
    } finally {
      subscriptions.unsubscribe();
      concurrency.close();
      status.close();
      await payments.close();
    }
  })();

  return {
    done,
    statuses,
    snapshot,
    stop: () => stopProducing.abort(),
    setConcurrency: (n) => {
      setConcurrency(n);
      floor = concurrency.borrow();
    },
  };
}
