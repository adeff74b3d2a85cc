import { type SchedulerLike, Subject, type Subscription } from 'rxjs';
import { ChannelClosedError, ChannelFullError } from '../errors.js';
import { DeadlineTimer, type Scheduled, scheduleAt } from '../internal/deadlineTimer.js';
import type { Demand, Sink } from '../internal/demand.js';
import type { Headers } from '../internal/headers.js';
import { Heap } from '../internal/heap.js';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { Ring } from '../internal/ring.js';
import { Line, type Linked } from '../internal/waiting/line.js';
import { WaitList } from '../internal/waiting/waitList.js';
import type { OverflowHandler, OverflowPolicy } from '../overflow.js';
import { randomName, receiptSecret, SECRET_LENGTH } from './receiptSecret.js';
import type {
  AckResult,
  CloseResult,
  Delivery,
  EnqueueResult,
  ExtendResult,
  NackResult,
  QueueDeadLetter,
  QueueStats,
  ReceiptRejection,
  RedriveResult,
  ReleaseResult,
} from './types.js';

/**
 * The in-memory engine behind `MessageQueue` (not exported from the package).
 *
 * Where a message is:
 * - `visible`: a ring, first in first out. New messages join at the back; so do messages whose
 *   lease ended unsuccessfully and delayed messages that came due, i.e. behind those already
 *   visible. Only the front is ever removed, so the ring holds no dead entries.
 * - `delayed`: a min-heap by due time.
 * - `leases`: a min-heap by lease deadline. One scheduler timer is armed for the earliest
 *   deadline; an earlier deadline re-arms it, a later one lets it fire early and re-arm. Nothing
 *   scans the messages in flight.
 * - `slab`: every message the queue remembers, by slot. A message's `tag` is `<slot>.<seq>`; a
 *   receipt is `<tag>:<delivery>:<queue name><secret>` (the secret: 96 random bits, see
 *   `receiptSecret`), so resolving one is an array read and one exact string comparison, with no
 *   hashing. Freed slots are reused first freed, first reused, so a finished message still
 *   answers `'acked'` for a while before its slot is taken.
 * - `records`: id -> message for ids the caller gave, for deduplication. Such a message stays
 *   after it is acknowledged (payload released) until its deduplication window ends; `window`
 *   is the ring of those messages in enqueue order, pruned from the front. A generated id is
 *   unique by construction and encodes its slot, so it needs neither the map nor the window.
 * - `dead`: the dead letters, oldest first.
 *
 * Time: every decision uses `scheduler.now()` at the moment of the call. A lease whose deadline
 * is at or before now is over even if its timer has not fired: the first call that notices it
 * processes every due expiry right then, so outcomes never depend on timer jitter.
 *
 * Timers are scheduled with delays clamped to 2^31-1 ms (Node fires longer timeouts after
 * 1 ms); one that fires early finds nothing due and re-arms for the rest.
 */

const VISIBLE = 0;
const DELAYED = 1;
const IN_FLIGHT = 2;
const ACKED = 3;
const DEAD = 4;
/** Discarded by an overflow policy, purged or evicted from the dead letters. */
const GONE = 5;
type State = 0 | 1 | 2 | 3 | 4 | 5;

/** How the latest lease of a message ended, when it did not end with an ack. */
const ENDED_EXPIRED = 1;
const ENDED_RELEASED = 2;

/** Process-wide: a receipt of one queue never names a message of another, nor an earlier message with the same id. */
let nextSeq = 1;

class Message<T> {
  /** Its entry in the lease heap (in flight) or the delayed heap (delayed), else -1. */
  heapHandle = -1;
  /** The current lease's deadline, while in flight. */
  deadline = 0;
  state: State = VISIBLE;
  /** Attempts counted (deliveries minus released ones; reset by redrive). */
  attempts = 0;
  /** Deliveries ever made; numbers the receipts, so an old receipt is recognisably stale. */
  deliveries = 0;
  /** The receipt of the current lease, while in flight. */
  receipt: string | undefined = undefined;
  lastEnd = 0;
  lastError: unknown = undefined;
  /** Still inside its deduplication window (and on the window ring). */
  inWindow = false;
  /** Its place in the slab; `freed` once the slot may be reused. */
  slot = -1;
  freed = false;
  /** `<slot>.<seq>`: the stem of its receipts (and of its id when generated). */
  tag = '';
  /** The headers given to enqueue, if any; dropped with the payload. */
  headers: Headers | undefined = undefined;

  constructor(
    /** Set right after the slot is known when the id is generated. */
    public id: string,
    public payload: T | undefined,
    readonly seq: number,
    readonly enqueuedAt: number,
    /** The caller gave the id: it is deduplicated through `records` and the window. */
    readonly named: boolean,
  ) {}
}

/** A consumer waiting for deliveries: one `receive()` long poll, or a pull stream (`consume`). */
interface Taker<T> extends Linked<Taker<T>> {
  demand: number;
  live: boolean;
  /** A `receive()`: served one batch, then done. */
  readonly once: boolean;
  take(delivery: Delivery<T>): void;
  end(): void;
}

/** A `send()` waiting for room under the `'block'` policy: what it will enqueue. */
interface SendWaiter<T> {
  readonly payload: T;
  readonly id: string | undefined;
  readonly delay: number;
  readonly headers: Headers | undefined;
}

interface DeadEntry<T> {
  readonly letter: QueueDeadLetter<T>;
  readonly message: Message<T>;
}

/** Validated settings of a queue. */
export interface CoreConfig<T> {
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly onOverflow: OverflowHandler<T> | undefined;
  readonly dedupWindow: number;
  readonly deadCapacity: number;
  readonly onEvict: ((letter: QueueDeadLetter<T>) => void) | undefined;
  readonly scheduler: SchedulerLike;
}

const ACK_OK: AckResult = Object.freeze({ ok: true });
const NACK_OK: NackResult = Object.freeze({ ok: true, deadLettered: false });
const NACK_DEAD: NackResult = Object.freeze({ ok: true, deadLettered: true });
const REJECTED: Readonly<Record<ReceiptRejection, { ok: false; reason: ReceiptRejection }>> = {
  stale: Object.freeze({ ok: false, reason: 'stale' }),
  expired: Object.freeze({ ok: false, reason: 'expired' }),
  released: Object.freeze({ ok: false, reason: 'released' }),
  acked: Object.freeze({ ok: false, reason: 'acked' }),
  unknown: Object.freeze({ ok: false, reason: 'unknown' }),
};
const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

export class QueueCore<T> {
  readonly scheduler: SchedulerLike;
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly capacity: number;
  private readonly policy: OverflowPolicy;
  private readonly onOverflow: OverflowHandler<T> | undefined;
  private readonly dedupWindow: number;
  private readonly deadCapacity: number;
  private readonly onEvict: ((letter: QueueDeadLetter<T>) => void) | undefined;

  private readonly records = new Map<string, Message<T>>();
  private readonly slab: Array<Message<T> | undefined> = [];
  private freeSlots = new Ring<number>(16);
  private readonly visible = new Ring<Message<T>>(16);
  /**
   * Messages a consumer just gave back (release, nack without delay): they join `visible` on
   * the next scheduler turn, so a consumer that gives every delivery back cannot get it again
   * in the same turn forever and starve the event loop. Explicit pulls (`dequeue`, `receive`)
   * see them at once.
   */
  private readonly returned = new Ring<Message<T>>(4);
  private returnTask: Subscription | undefined = undefined;
  private readonly delayed = new Heap<Message<T>>();
  private readonly leases = new Heap<Message<T>>();
  private readonly window = new Ring<Message<T>>(16);
  private readonly dead = new Map<number, DeadEntry<T>>();
  /**
   * Dead messages oldest first, for O(1) eviction (a Map's first entry is found by skipping
   * the holes deletions left, which grows with the capacity). Entries redriven or purged stay
   * here until they reach the front or a compaction drops them.
   */
  private readonly deadOrder = new Ring<DeadEntry<T>>(16);
  /** Consumers waiting for deliveries, in the order they started waiting; leave from anywhere. */
  private readonly line = new Line<Taker<T>>();
  private readonly streams = new Set<Taker<T>>();
  /** Sends waiting for room; an aborted one leaves at once. */
  private readonly senders = new WaitList<SendWaiter<T>, EnqueueResult>();
  readonly deadSubject = new Subject<QueueDeadLetter<T>>();
  /** Who to tell when close() releases a lease: receipt → callback (`watchRelease`). */
  private readonly releaseWatchers = new Map<string, () => void>();

  /**
   * This queue's random name (48 bits): every receipt carries it, so a receipt of another queue
   * is refused even where its other fields happen to match.
   */
  private readonly name = randomName(8);
  /** Generated ids are `<prefix><tag>`: unique, and resolvable to their slot. */
  private readonly idPrefix = `${this.name}-`;
  /** Tie-breaker for equal deadlines and due times: first scheduled, first out. */
  private ticket = 0;

  private readonly leaseTimer: DeadlineTimer;
  private readonly delayTimer: DeadlineTimer;

  private serving = false;
  private serveAgain = false;

  closed = false;
  private closing: Promise<CloseResult> | undefined = undefined;
  private closeResolve: ((result: CloseResult) => void) | undefined = undefined;
  private graceTimer: Scheduled | undefined = undefined;
  private finalized = false;

  // counters
  private enqueued = 0;
  /** The headers of the message `enqueue` is adding, taken by `accept` (also via `overflow`). */
  private arriving: Headers | undefined = undefined;
  private duplicates = 0;
  private dropped = 0;
  private delivered = 0;
  private acked = 0;
  private nacked = 0;
  private expired = 0;
  private released = 0;
  private deadLettered = 0;
  private redriven = 0;
  private deadEvicted = 0;

  constructor(config: CoreConfig<T>) {
    this.scheduler = config.scheduler;
    const onTimer = () => this.processDue(this.scheduler.now());
    this.leaseTimer = new DeadlineTimer(config.scheduler, onTimer);
    this.delayTimer = new DeadlineTimer(config.scheduler, onTimer);
    this.visibilityTimeout = config.visibilityTimeout;
    this.maxAttempts = config.maxAttempts;
    this.capacity = config.capacity;
    this.policy = config.overflow;
    this.onOverflow = config.onOverflow;
    this.dedupWindow = config.dedupWindow;
    this.deadCapacity = config.deadCapacity;
    this.onEvict = config.onEvict;
  }

  /** Visible + delayed + in flight: what counts against `capacity`. */
  get live(): number {
    return this.visible.size + this.returned.size + this.delayed.size + this.leases.size;
  }

  // ---- enqueue ------------------------------------------------------------------------

  enqueue(
    payload: T,
    id: string | undefined,
    delay: number,
    admitted = false,
    headers?: Headers,
  ): EnqueueResult {
    if (this.closed) throw this.closedError(payload);
    const now = this.scheduler.now();
    if (this.window.size > 0) this.prune(now);
    if (id !== undefined && this.isDuplicate(id)) {
      this.duplicates++;
      return { ok: false, reason: 'duplicate', id };
    }
    if (this.live >= this.capacity || (!admitted && this.senders.size > 0)) {
      this.arriving = headers;
      const result = this.overflow(payload, id, delay, now);
      this.arriving = undefined;
      return result;
    }
    this.arriving = headers;
    return { ok: true, id: this.accept(payload, id, delay, now).id };
  }

  /**
   * Whether a caller's `id` is live or inside its deduplication window (`records`), or is the
   * generated id (`<prefix><tag>`, found through its slot) of a message that is still live.
   */
  private isDuplicate(id: string): boolean {
    if (this.records.has(id)) return true;
    if (!id.startsWith(this.idPrefix)) return false;
    const message = this.slab[Number.parseInt(id.slice(this.idPrefix.length), 10)];
    return message !== undefined && message.id === id && message.state <= IN_FLIGHT;
  }

  send(
    payload: T,
    id: string | undefined,
    delay: number,
    signal: AbortSignal | undefined,
    headers?: Headers,
  ): Promise<EnqueueResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.reject(this.closedError(payload));
    const full = this.live >= this.capacity || this.senders.size > 0;
    if (!full || this.policy !== 'block') {
      try {
        return Promise.resolve(this.enqueue(payload, id, delay, false, headers));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (id !== undefined) {
      const now = this.scheduler.now();
      this.prune(now);
      if (this.isDuplicate(id)) {
        this.duplicates++;
        return Promise.resolve({ ok: false, reason: 'duplicate', id });
      }
    }
    return this.senders.wait({ payload, id, delay, headers }, signal).promise;
  }

  private accept(payload: T, id: string | undefined, delay: number, now: number): Message<T> {
    const seq = nextSeq++;
    const message = new Message<T>(id ?? '', payload, seq, now, id !== undefined);
    message.headers = this.arriving;
    this.arriving = undefined;
    const slot = this.freeSlots.size > 0 ? this.freeSlots.shift() : this.slab.length;
    message.slot = slot;
    message.tag = `${slot}.${seq}`;
    this.slab[slot] = message;
    if (id === undefined) {
      message.id = this.idPrefix + message.tag;
    } else {
      this.records.set(id, message);
      if (this.dedupWindow > 0) {
        message.inWindow = true;
        if (this.dedupWindow !== Number.POSITIVE_INFINITY) this.window.push(message);
      }
    }
    this.enqueued++;
    if (delay > 0) {
      message.state = DELAYED;
      const due = now + delay;
      message.heapHandle = this.delayed.push(message, due, this.ticket++);
      if (due < this.delayTimer.firesAt) this.armDelayed(now);
    } else {
      if (this.returned.size > 0) this.flushReturned(); // keep the order of arrival
      this.visible.push(message);
      if (this.line.size > 0) this.serve();
    }
    return message;
  }

  private overflow(payload: T, id: string | undefined, delay: number, now: number): EnqueueResult {
    switch (this.policy) {
      case 'drop':
        this.dropped++;
        this.onOverflow?.(payload, 'drop');
        return { ok: false, reason: 'dropped', id };
      case 'replace': {
        if (this.returned.size > 0) this.flushReturned();
        const victim = this.visible.size > 0 ? this.visible.shift() : this.delayed.pop();
        if (victim === undefined) throw this.fullError(payload, ' and every message is in flight');
        victim.heapHandle = -1;
        const evicted = victim.payload as T;
        victim.state = GONE;
        victim.payload = undefined;
        this.finish(victim);
        this.dropped++;
        const accepted = this.accept(payload, id, delay, now);
        this.onOverflow?.(evicted, 'replace');
        return { ok: true, id: accepted.id };
      }
      case 'block':
        throw this.fullError(payload, '; enqueue() cannot wait, use await send()');
      default:
        throw this.fullError(payload, '');
    }
  }

  /** Lets waiting senders in while there is room. */
  private admitSenders(): void {
    for (
      let wait = this.senders.peek();
      wait !== undefined && this.live < this.capacity && !this.closed;
      wait = this.senders.peek()
    ) {
      const { payload, id, delay, headers } = wait.entry;
      try {
        wait.resolve(this.enqueue(payload, id, delay, true, headers));
      } catch (error) {
        wait.reject(error);
      }
    }
  }

  /** Ends the deduplication window of messages enqueued `dedupWindow` ago or earlier. */
  private prune(now: number): void {
    const window = this.window;
    const span = this.dedupWindow;
    while (window.size > 0) {
      const oldest = window.peek();
      if (oldest.enqueuedAt + span > now) return;
      window.shift();
      oldest.inWindow = false;
      if (oldest.state >= ACKED) this.finish(oldest);
    }
  }

  /**
   * A message left the live queue (acknowledged, dead, discarded): once its deduplication window
   * is over, its id is free again and, unless it is a dead letter, its slot may be reused.
   */
  private finish(message: Message<T>): void {
    if (message.state !== DEAD) message.headers = undefined; // a dead letter keeps them for redrive
    if (message.inWindow) return;
    if (message.named && this.records.get(message.id) === message) this.records.delete(message.id);
    if (message.state !== DEAD && !message.freed) {
      message.freed = true;
      this.freeSlots.push(message.slot);
      // Every slot free after a burst: let the slab (and the messages it still points to for
      // naming old receipts) go, so an idle queue holds nothing of its peak backlog.
      if (this.freeSlots.size === this.slab.length && this.slab.length > 1024) {
        this.slab.length = 0;
        this.freeSlots = new Ring<number>(16);
      }
    }
  }

  // ---- delivery -----------------------------------------------------------------------

  dequeue(): Delivery<T> | undefined {
    if (this.closed) return undefined;
    if (this.returned.size > 0) this.flushReturned();
    const now = this.scheduler.now();
    if (this.leases.minKey() <= now || this.delayed.minKey() <= now) this.processDue(now);
    if (this.visible.size === 0) return undefined;
    return this.lease(this.visible.shift(), now);
  }

  receive(max: number, wait: number, signal: AbortSignal | undefined): Promise<Delivery<T>[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.resolve([]);
    if (this.returned.size > 0) this.flushReturned();
    const now = this.scheduler.now();
    if (this.leases.minKey() <= now || this.delayed.minKey() <= now) this.processDue(now);
    if (this.visible.size > 0) {
      const batch: Delivery<T>[] = [];
      while (batch.length < max && this.visible.size > 0) {
        batch.push(this.lease(this.visible.shift(), now));
      }
      return Promise.resolve(batch);
    }
    if (wait === 0) return Promise.resolve([]);
    return new Promise<Delivery<T>[]>((resolve, reject) => {
      const batch: Delivery<T>[] = [];
      let timer: Scheduled | undefined;
      let onAbort: (() => void) | undefined;
      const cleanup = () => {
        timer?.cancel();
        timer = undefined;
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      };
      const taker: Taker<T> = {
        prev: undefined,
        next: undefined,
        linked: false,
        demand: max,
        live: true,
        once: true,
        take: (delivery) => batch.push(delivery),
        end: () => {
          cleanup();
          resolve(batch);
        },
      };
      this.line.push(taker);
      if (signal) {
        onAbort = () => {
          if (!taker.live) return;
          taker.live = false;
          cleanup();
          this.line.remove(taker);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (wait !== Number.POSITIVE_INFINITY) {
        timer = scheduleAt(this.scheduler, now + wait, () => {
          timer = undefined;
          if (!taker.live) return;
          taker.live = false;
          cleanup();
          this.line.remove(taker);
          resolve(batch);
        });
      }
    });
  }

  /** A pull stream of deliveries (the demand protocol): one lease per requested delivery. */
  pull(sink: Sink<Delivery<T>>): Demand {
    if (this.closed) {
      sink.complete();
      return NO_DEMAND;
    }
    const taker: Taker<T> = {
      prev: undefined,
      next: undefined,
      linked: false,
      demand: 0,
      live: true,
      once: false,
      take: (delivery) => sink.next(delivery),
      end: () => sink.complete(),
    };
    this.streams.add(taker);
    return {
      request: (n: number) => {
        if (!taker.live || !(n > 0)) return;
        taker.demand += n;
        this.line.push(taker);
        const now = this.scheduler.now();
        if (this.leases.minKey() <= now || this.delayed.minKey() <= now) this.processDue(now);
        this.serve();
      },
      cancel: () => {
        if (!taker.live) return;
        taker.live = false;
        this.streams.delete(taker);
        this.line.remove(taker);
      },
    };
  }

  /** Hands visible messages to waiting consumers, in the order they started waiting. */
  private serve(): void {
    if (this.serving) {
      this.serveAgain = true;
      return;
    }
    if (this.closed) return;
    this.serving = true;
    try {
      const now = this.scheduler.now();
      do {
        this.serveAgain = false;
        const line = this.line;
        const visible = this.visible;
        while (visible.size > 0 && line.size > 0 && !this.closed) {
          const taker = line.peek() as Taker<T>;
          if (!taker.live || taker.demand <= 0) {
            line.remove(taker);
            continue;
          }
          taker.demand--;
          const delivery = this.lease(visible.shift(), now);
          if (taker.once && (taker.demand === 0 || visible.size === 0)) {
            line.remove(taker);
            taker.live = false;
            taker.take(delivery);
            taker.end();
          } else {
            taker.take(delivery); // a stream consumer may re-enter from here
          }
        }
      } while (this.serveAgain && !this.closed);
    } finally {
      this.serving = false;
    }
  }

  private lease(message: Message<T>, now: number): Delivery<T> {
    message.attempts++;
    const n = ++message.deliveries;
    message.state = IN_FLIGHT;
    const deadline = now + this.visibilityTimeout;
    message.deadline = deadline;
    const receipt = `${message.tag}:${n}:${this.name}${receiptSecret()}`;
    message.receipt = receipt;
    message.heapHandle = this.leases.push(message, deadline, this.ticket++);
    if (deadline < this.leaseTimer.firesAt) this.armLeases(now);
    this.delivered++;
    const delivery: Delivery<T> = {
      id: message.id,
      payload: message.payload as T,
      attempt: message.attempts,
      receipt,
      deadline,
    };
    return message.headers === undefined ? delivery : { ...delivery, headers: message.headers };
  }

  // ---- leases -------------------------------------------------------------------------

  /**
   * The message a receipt holds the current lease on, or why it does not. Decided by the
   * clock now: a lease at or past its deadline is expired, and every due expiry is processed.
   */
  private resolve(receipt: unknown, now: number): Message<T> | ReceiptRejection {
    if (typeof receipt !== 'string') return 'unknown';
    const message = this.slab[Number.parseInt(receipt, 10)];
    if (message === undefined) return 'unknown';
    if (message.receipt === receipt) {
      if (message.deadline > now) return message;
      this.processDue(now);
      return 'expired';
    }
    // Not the current lease: say why, or 'unknown' if it is not a receipt of this message.
    const parts = receipt.split(':');
    if (
      parts.length !== 3 ||
      parts[0] !== message.tag ||
      !/^[1-9][0-9]*$/.test(parts[1]!) ||
      parts[2]!.length !== this.name.length + SECRET_LENGTH ||
      !parts[2]!.startsWith(this.name)
    ) {
      return 'unknown';
    }
    const n = Number(parts[1]);
    if (n > message.deliveries) return 'unknown';
    if (n < message.deliveries) return 'stale';
    // The current delivery's number with another secret: not a receipt this queue gave out.
    if (message.state === IN_FLIGHT) return 'unknown';
    if (message.state === ACKED) return 'acked';
    return message.lastEnd === ENDED_EXPIRED ? 'expired' : 'released';
  }

  ack(receipt: string): AckResult {
    const message = this.resolve(receipt, this.scheduler.now());
    if (typeof message === 'string') return REJECTED[message];
    this.leases.remove(message.heapHandle);
    message.heapHandle = -1;
    message.state = ACKED;
    this.forgetReceipt(message);
    message.payload = undefined;
    this.acked++;
    this.finish(message);
    this.leaseEnded();
    this.admitSenders();
    return ACK_OK;
  }

  nack(receipt: string, delay: number, error: unknown): NackResult {
    const now = this.scheduler.now();
    const message = this.resolve(receipt, now);
    if (typeof message === 'string') return REJECTED[message];
    this.leases.remove(message.heapHandle);
    message.heapHandle = -1;
    this.forgetReceipt(message);
    message.lastEnd = ENDED_RELEASED;
    if (error !== undefined) message.lastError = error;
    this.nacked++;
    if (message.attempts >= this.maxAttempts) {
      this.kill(message, 'nacked', now);
      this.leaseEnded();
      return NACK_DEAD;
    }
    if (delay > 0) this.delay(message, now + delay, now);
    this.leaseEnded();
    if (delay <= 0) this.returnLater(message);
    return NACK_OK;
  }

  release(receipt: string): ReleaseResult {
    const message = this.resolve(receipt, this.scheduler.now());
    if (typeof message === 'string') return REJECTED[message];
    this.leases.remove(message.heapHandle);
    message.heapHandle = -1;
    this.forgetReceipt(message);
    message.lastEnd = ENDED_RELEASED;
    message.attempts--;
    message.state = VISIBLE;
    this.released++;
    this.leaseEnded();
    this.returnLater(message);
    return ACK_OK;
  }

  extend(receipt: string, ms: number): ExtendResult {
    const now = this.scheduler.now();
    const message = this.resolve(receipt, now);
    if (typeof message === 'string') return REJECTED[message];
    const deadline = now + ms;
    this.leases.update(message.heapHandle, deadline);
    message.deadline = deadline;
    if (deadline < this.leaseTimer.firesAt) this.armLeases(now);
    return { ok: true, deadline };
  }

  private delay(message: Message<T>, due: number, now: number): void {
    message.state = DELAYED;
    message.heapHandle = this.delayed.push(message, due, this.ticket++);
    if (due < this.delayTimer.firesAt) this.armDelayed(now);
  }

  private returnLater(message: Message<T>): void {
    message.state = VISIBLE;
    this.returned.push(message);
    if (this.returnTask !== undefined || this.closed) return;
    this.returnTask = this.scheduler.schedule(() => {
      this.returnTask = undefined;
      this.flushReturned();
      if (this.visible.size > 0 && this.line.size > 0) this.serve();
    }, 0);
  }

  /** Returned messages join the visible line (behind what is visible now). */
  private flushReturned(): void {
    const returned = this.returned;
    while (returned.size > 0) this.visible.push(returned.shift());
  }

  /** A lease left the heap: drop the timer if none is left; finish a pending close. */
  private leaseEnded(): void {
    if (this.leases.size > 0) return;
    this.leaseTimer.cancel();
    if (this.closing !== undefined && !this.finalized) this.finalize(0);
  }

  /** Moves every lease past its deadline and every delayed message come due to the visible line. */
  private processDue(now: number): void {
    const leases = this.leases;
    const delayed = this.delayed;
    // Leases handed out while this loop runs (a consumer served from inside a callback) wait
    // for the next round, so a zero visibility timeout cannot spin here.
    const before = this.ticket;
    for (;;) {
      const leaseAt = leases.minKey();
      const dueAt = delayed.minKey();
      if (leaseAt <= now && leaseAt <= dueAt && leases.minOrder() < before) {
        const message = leases.pop()!;
        message.heapHandle = -1;
        this.expired++;
        this.forgetReceipt(message);
        message.lastEnd = ENDED_EXPIRED;
        if (message.attempts >= this.maxAttempts) {
          this.kill(message, 'expired', now);
        } else {
          message.state = VISIBLE;
          this.visible.push(message);
        }
      } else if (dueAt <= now) {
        const message = delayed.pop()!;
        message.heapHandle = -1;
        message.state = VISIBLE;
        this.visible.push(message);
      } else {
        break;
      }
    }
    if (leases.size === 0) this.leaseEnded();
    else this.armLeases(now);
    this.armDelayed(now);
    if (this.visible.size > 0 && this.line.size > 0) this.serve();
  }

  private armLeases(now: number): void {
    this.leaseTimer.arm(this.leases.minKey(), now);
  }

  /** Delayed messages matter only while someone may receive them: no timer once closed. */
  private armDelayed(now: number): void {
    if (this.closed) this.delayTimer.cancel();
    else this.delayTimer.arm(this.delayed.minKey(), now);
  }

  // ---- dead letters -------------------------------------------------------------------

  private kill(message: Message<T>, reason: 'nacked' | 'expired', now: number): void {
    message.state = DEAD;
    this.forgetReceipt(message);
    this.deadLettered++;
    const fields: QueueDeadLetter<T> = {
      id: message.id,
      payload: message.payload as T,
      attempts: message.attempts,
      lastError: message.lastError,
      reason,
      enqueuedAt: message.enqueuedAt,
      deadAt: now,
    };
    const letter = Object.freeze(
      message.headers === undefined ? fields : { ...fields, headers: message.headers },
    );
    const deadEntry: DeadEntry<T> = { letter, message };
    this.dead.set(message.seq, deadEntry);
    this.deadOrder.push(deadEntry);
    this.finish(message);
    let evicted: QueueDeadLetter<T> | undefined;
    if (this.dead.size > this.deadCapacity) {
      for (;;) {
        const oldest = this.deadOrder.shift();
        const seq = oldest.message.seq;
        if (this.dead.get(seq) !== oldest) continue; // redriven or purged since
        this.dead.delete(seq);
        this.dropDead(oldest.message);
        this.deadEvicted++;
        evicted = oldest.letter;
        break;
      }
    }
    this.admitSenders();
    this.deadSubject.next(letter);
    if (evicted !== undefined && this.onEvict !== undefined) {
      // A throwing callback is reported and stops nothing: this may run inside a timer that
      // still has leases to expire.
      try {
        this.onEvict(evicted);
      } catch (error) {
        reportUnhandledError(error);
      }
    }
  }

  /** Redrive and purge leave entries behind in `deadOrder`: drop them once they dominate. */
  private compactDeadOrder(): void {
    const order = this.deadOrder;
    if (order.size <= 2 * this.dead.size + 16) return;
    for (let n = order.size; n > 0; n--) {
      const entry = order.shift();
      if (this.dead.get(entry.message.seq) === entry) order.push(entry);
    }
  }

  private dropDead(message: Message<T>): void {
    message.state = GONE;
    message.payload = undefined;
    this.finish(message);
  }

  deadLetters(): QueueDeadLetter<T>[] {
    return Array.from(this.dead.values(), (entry) => entry.letter);
  }

  /** Dead entries for the given ids (each id's letters, oldest first), or all of them. */
  private selectDead(
    ids: Iterable<string> | undefined,
    missing: Array<{ id: string; reason: 'missing' }>,
  ): Array<[number, DeadEntry<T>]> {
    if (ids === undefined) return Array.from(this.dead.entries());
    const wanted = new Set(ids);
    const found = new Set<string>();
    const selected: Array<[number, DeadEntry<T>]> = [];
    for (const entry of this.dead.entries()) {
      if (wanted.has(entry[1].letter.id)) {
        selected.push(entry);
        found.add(entry[1].letter.id);
      }
    }
    for (const id of wanted) if (!found.has(id)) missing.push({ id, reason: 'missing' });
    return selected;
  }

  redrive(ids: Iterable<string> | undefined): RedriveResult {
    const skipped: Array<{ id: string; reason: 'missing' | 'live' | 'full' }> = [];
    const missing: Array<{ id: string; reason: 'missing' }> = [];
    const redriven: string[] = [];
    for (const [seq, { message }] of this.selectDead(ids, missing)) {
      const current = message.named ? this.records.get(message.id) : undefined;
      if (current !== undefined && current !== message && current.state <= IN_FLIGHT) {
        skipped.push({ id: message.id, reason: 'live' });
        continue;
      }
      if (this.live >= this.capacity) {
        skipped.push({ id: message.id, reason: 'full' });
        continue;
      }
      this.dead.delete(seq);
      message.attempts = 0;
      message.lastEnd = 0;
      message.lastError = undefined;
      if (message.named) this.records.set(message.id, message);
      message.state = VISIBLE;
      this.visible.push(message);
      this.redriven++;
      redriven.push(message.id);
    }
    skipped.push(...missing);
    this.compactDeadOrder();
    if (this.line.size > 0) this.serve();
    return { redriven, skipped };
  }

  purgeDeadLetters(ids: Iterable<string> | undefined): QueueDeadLetter<T>[] {
    const purged: QueueDeadLetter<T>[] = [];
    for (const [seq, { letter, message }] of this.selectDead(ids, [])) {
      this.dead.delete(seq);
      this.dropDead(message);
      purged.push(letter);
    }
    this.compactDeadOrder();
    return purged;
  }

  // ---- close and stats ----------------------------------------------------------------

  close(grace: number): Promise<CloseResult> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = new Promise<CloseResult>((resolve) => {
      this.closeResolve = resolve;
    });
    this.senders.rejectAll(({ payload }) => this.closedError(payload));
    for (const taker of this.line.drain()) {
      if (taker.live && taker.once) {
        taker.live = false;
        taker.end();
      }
    }
    const streams = Array.from(this.streams);
    this.streams.clear();
    for (const taker of streams) {
      taker.live = false;
      taker.end();
    }
    this.delayTimer.cancel();
    this.returnTask?.unsubscribe();
    this.returnTask = undefined;
    this.flushReturned();
    if (this.leases.size === 0) {
      this.finalize(0);
    } else if (grace === 0) {
      this.releaseAll();
    } else if (grace !== Number.POSITIVE_INFINITY) {
      this.graceTimer = scheduleAt(this.scheduler, this.scheduler.now() + grace, () => {
        this.graceTimer = undefined;
        if (!this.finalized) this.releaseAll();
      });
    }
    return this.closing;
  }

  /** The lease ended: its receipt means nothing any more, and nobody watches it. */
  private forgetReceipt(message: Message<T>): void {
    if (this.releaseWatchers.size > 0 && message.receipt !== undefined) {
      this.releaseWatchers.delete(message.receipt);
    }
    message.receipt = undefined;
  }

  /** Tells `onReleased` when close() releases the lease of `receipt` (see `QueueStore`). */
  watchRelease(receipt: string, onReleased: () => void): () => void {
    this.releaseWatchers.set(receipt, onReleased);
    return () => {
      if (this.releaseWatchers.get(receipt) === onReleased) this.releaseWatchers.delete(receipt);
    };
  }

  /** The grace period is over: every lease goes back to the queue, its attempt not counted. */
  private releaseAll(): void {
    let count = 0;
    const told: Array<() => void> = [];
    for (let message = this.leases.pop(); message !== undefined; message = this.leases.pop()) {
      const watcher = message.receipt && this.releaseWatchers.get(message.receipt);
      if (watcher) told.push(watcher);
      message.heapHandle = -1;
      message.receipt = undefined;
      message.lastEnd = ENDED_RELEASED;
      message.attempts--;
      message.state = VISIBLE;
      this.visible.push(message);
      this.released++;
      count++;
    }
    this.releaseWatchers.clear();
    for (const onReleased of told) {
      try {
        onReleased();
      } catch (error) {
        reportUnhandledError(error);
      }
    }
    this.finalize(count);
  }

  private finalize(released: number): void {
    if (this.finalized) return;
    this.finalized = true;
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
    this.leaseTimer.cancel();
    this.delayTimer.cancel();
    this.deadSubject.complete();
    this.closeResolve?.({ released });
  }

  stats(): QueueStats {
    const now = this.scheduler.now();
    this.prune(now);
    if (this.leases.minKey() <= now || this.delayed.minKey() <= now) this.processDue(now);
    return {
      visible: this.visible.size + this.returned.size,
      inFlight: this.leases.size,
      delayed: this.delayed.size,
      dead: this.dead.size,
      enqueued: this.enqueued,
      duplicates: this.duplicates,
      dropped: this.dropped,
      delivered: this.delivered,
      acked: this.acked,
      nacked: this.nacked,
      expired: this.expired,
      released: this.released,
      deadLettered: this.deadLettered,
      redriven: this.redriven,
      deadEvicted: this.deadEvicted,
    };
  }

  // ---- errors -------------------------------------------------------------------------

  private closedError(payload: T): ChannelClosedError<T> {
    return new ChannelClosedError('MessageQueue: queue is closed', payload);
  }

  private fullError(payload: T, detail: string): ChannelFullError<T> {
    return new ChannelFullError(
      `MessageQueue: queue is full (capacity ${this.capacity})${detail}`,
      payload,
    );
  }
}
