import type { Demand, Sink } from '../internal/demand.js';
import type { Headers } from '../internal/headers.js';
import { deadLetterOf } from '../internal/queue/deadLetters.js';
import { rejectReceipt } from '../internal/queue/leases.js';
import {
  ACKED,
  DEAD,
  ENDED_EXPIRED,
  ENDED_RELEASED,
  GONE,
  IN_FLIGHT,
  isLive,
  QueueMessage,
  VISIBLE,
} from '../internal/queue/message.js';
import { queueErrors } from '../internal/queue/queueErrors.js';
import type { MessageOrder } from './coreConfig.js';
import { QueueCoreState } from './queueCoreState.js';
import { ACK_OK, NACK_DEAD, NACK_OK, REJECTED } from './queueResults.js';
import { receiptSecret, SECRET_LENGTH } from './receiptSecret.js';
import type {
  AckResult,
  Delivery,
  EnqueueResult,
  ExtendResult,
  NackResult,
  QueueDeadLetter,
  ReceiptRejection,
  RedriveResult,
  ReleaseResult,
} from './types.js';

/**
 * The in-memory engine behind `MessageQueue` (not exported from the package). Its parts are in
 * `src/internal/queue/`, each documented there: the `backlog` (visible line by priority, message
 * groups, given-back and delayed messages), the `leases` in flight (deadline heap, receipts), the
 * `slab` of message slots, the `dedup` index and window, the `dead` letters, and the `consumers`
 * waiting for deliveries. This class is the message's life cycle across them.
 *
 * Time: every decision uses `scheduler.now()` at the moment of the call. A lease whose deadline
 * is at or before now is over even if its timer has not fired: the first call that notices it
 * processes every due expiry right then (`catchUp`), so outcomes never depend on timer jitter.
 */

/** Process-wide: a receipt of one queue never names a message of another, nor an earlier message with the same id. */
let nextSeq = 1;

const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

export class QueueCore<T> extends QueueCoreState<T> {
  /** Tie-breaker for equal deadlines and due times: first scheduled, first out. */
  private ticket = 0;
  /**
   * The group and priority of the message being enqueued: `accept` reads it, so the overflow
   * policy's path to `accept` carries it too.
   */
  private incoming: MessageOrder | undefined = undefined;
  /** The headers of the message being enqueued, read by `accept` like `incoming`. */
  private arriving: Headers | undefined = undefined;
  /** The clock reading of the current `serve` round. */
  private serveNow = 0;

  /** Visible + delayed + in flight: what counts against `capacity`. */
  get live(): number {
    return this.backlog.size + this.leases.size;
  }

  /** Given-back messages join the visible line now. */
  private flushReturned(): void {
    this.backlog.flushReturned();
  }

  // ---- enqueue ------------------------------------------------------------------------

  enqueue(
    payload: T,
    id: string | undefined,
    delay: number,
    order?: MessageOrder,
    admitted = false,
    headers?: Headers,
  ): EnqueueResult {
    if (this.closed) throw queueErrors.closed(payload);
    this.incoming = order;
    this.arriving = headers;
    const now = this.scheduler.now();
    if (this.dedup.open) this.dedup.prune(now);
    if (id !== undefined && this.isDuplicate(id)) {
      this.count.duplicates++;
      return { ok: false, reason: 'duplicate', id };
    }
    if (this.live >= this.capacity || (!admitted && this.senders.size > 0)) {
      return this.overflow(payload, id, delay, now);
    }
    return { ok: true, id: this.accept(payload, id, delay, now).id };
  }

  private isDuplicate(id: string): boolean {
    return this.dedup.has(id);
  }

  send(
    payload: T,
    id: string | undefined,
    delay: number,
    signal: AbortSignal | undefined,
    order?: MessageOrder,
    headers?: Headers,
  ): Promise<EnqueueResult> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.reject(queueErrors.closed(payload));
    const full = this.live >= this.capacity || this.senders.size > 0;
    if (!full || this.policy !== 'block') {
      try {
        return Promise.resolve(this.enqueue(payload, id, delay, order, false, headers));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (id !== undefined) {
      this.dedup.prune(this.scheduler.now());
      if (this.isDuplicate(id)) {
        this.count.duplicates++;
        return Promise.resolve({ ok: false, reason: 'duplicate', id });
      }
    }
    return this.senders.wait({ payload, id, delay, order, headers }, signal).promise;
  }

  private accept(payload: T, id: string | undefined, delay: number, now: number): QueueMessage<T> {
    const seq = nextSeq++;
    const message = new QueueMessage<T>(id ?? '', payload, seq, now, id !== undefined);
    const order = this.incoming;
    if (order !== undefined) {
      message.group = order.group;
      message.priority = order.priority;
    }
    message.headers = this.arriving;
    this.arriving = undefined;
    this.slab.add(message);
    if (id === undefined) message.id = this.dedup.idPrefix + message.tag;
    else this.dedup.remember(message, true);
    this.count.enqueued++;
    if (delay > 0) {
      this.delay(message, now + delay, now);
    } else {
      if (this.returned.size > 0) this.flushReturned(); // keep the order of arrival
      this.backlog.enter(message);
      if (this.consumers.waiting) this.serve();
    }
    return message;
  }

  private overflow(payload: T, id: string | undefined, delay: number, now: number): EnqueueResult {
    // The policy is PolicyBuffer's; the messages it counts live in the queue's own lines, so
    // 'replace' evicts the oldest waiting message (visible first, then the next delayed one)
    // and admits the incoming one in its place. Each discard is counted before it is reported.
    let accepted: QueueMessage<T> | undefined;
    const offer = this.overflowPolicy.overflow(
      payload,
      () => {
        accepted = this.accept(payload, id, delay, now);
      },
      () => {
        if (this.returned.size > 0) this.flushReturned();
        const victim = this.visible.size > 0 ? this.visible.shift() : this.delayed.pop();
        if (victim === undefined)
          throw queueErrors.full(this.capacity, payload, ' and every message is in flight');
        victim.heapHandle = -1;
        const evicted = victim.payload as T;
        victim.state = GONE;
        victim.payload = undefined;
        this.finish(victim);
        return evicted;
      },
    );
    if (offer === 'dropped') return { ok: false, reason: 'dropped', id };
    if (accepted !== undefined) return { ok: true, id: accepted.id };
    throw queueErrors.full(
      this.capacity,
      payload,
      this.policy === 'block' ? '; enqueue() cannot wait, use await send()' : '',
    );
  }

  /** Lets waiting senders in while there is room. */
  private admitSenders(): void {
    for (
      let wait = this.senders.peek();
      wait !== undefined && this.live < this.capacity && !this.closed;
      wait = this.senders.peek()
    ) {
      const { payload, id, delay, order, headers } = wait.entry;
      try {
        wait.resolve(this.enqueue(payload, id, delay, order, true, headers));
      } catch (error) {
        wait.reject(error);
      }
    }
  }

  /**
   * A message left the live queue (acknowledged, dead, discarded): once its deduplication window
   * is over, its id is free again and, unless it is a dead letter, its slot may be reused.
   */
  protected override finish(message: QueueMessage<T>): void {
    if (message.group !== undefined) this.backlog.leave(message);
    if (message.state !== DEAD) message.headers = undefined; // a dead letter keeps them for redrive
    if (message.inWindow) return;
    this.dedup.forget(message);
    this.slab.release(message);
  }

  // ---- delivery -----------------------------------------------------------------------

  /** Processes every lease expiry and delay that is due by `now`: the one guard before a decision. */
  protected override catchUp(now: number): void {
    if (this.leases.next <= now || this.delayed.minKey() <= now) this.processDue(now);
  }

  dequeue(): Delivery<T> | undefined {
    if (this.closed) return undefined;
    if (this.returned.size > 0) this.flushReturned();
    const now = this.scheduler.now();
    this.catchUp(now);
    if (this.visible.size === 0) return undefined;
    return this.lease(this.visible.shift(), now);
  }

  receive(max: number, wait: number, signal: AbortSignal | undefined): Promise<Delivery<T>[]> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closed) return Promise.resolve([]);
    if (this.returned.size > 0) this.flushReturned();
    const now = this.scheduler.now();
    this.catchUp(now);
    if (this.visible.size > 0) {
      const batch: Delivery<T>[] = [];
      while (batch.length < max && this.visible.size > 0) {
        batch.push(this.lease(this.visible.shift(), now));
      }
      return Promise.resolve(batch);
    }
    if (wait === 0) return Promise.resolve([]);
    return this.consumers.wait(max, wait, signal, this.scheduler);
  }

  /** A pull stream of deliveries (the demand protocol): one lease per requested delivery. */
  pull(sink: Sink<Delivery<T>>): Demand {
    if (this.closed) {
      sink.complete();
      return NO_DEMAND;
    }
    return this.consumers.stream(sink, () => {
      this.catchUp(this.scheduler.now());
      this.serve();
    });
  }

  private readonly serveNext = (): Delivery<T> => this.lease(this.visible.shift(), this.serveNow);
  private readonly hasVisible = (): boolean => this.visible.size > 0;
  private readonly isOpen = (): boolean => !this.closed;

  /** Serves waiting consumers if a message is visible (a group's next message came out). */
  private serveWaiting(): void {
    if (this.visible.size > 0 && this.consumers.waiting) this.serve();
  }

  /** Hands visible messages to waiting consumers, in the order they started waiting. */
  protected override serve(): void {
    if (this.closed) return;
    this.serveNow = this.scheduler.now();
    this.consumers.serve(this.serveNext, this.hasVisible, this.isOpen);
  }

  private lease(message: QueueMessage<T>, now: number): Delivery<T> {
    message.attempts++;
    const n = ++message.deliveries;
    message.state = IN_FLIGHT;
    const deadline = now + this.visibilityTimeout;
    const receipt = `${message.tag}:${n}:${this.name}${receiptSecret()}`;
    this.leases.add(message, deadline, this.ticket++, receipt, now);
    this.count.delivered++;
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
  private resolve(receipt: unknown, now: number): QueueMessage<T> | ReceiptRejection {
    if (typeof receipt !== 'string') return 'unknown';
    const message = this.slab.at(Number.parseInt(receipt, 10));
    if (message === undefined) return 'unknown';
    if (message.receipt === receipt) {
      if (message.deadline > now) return message;
      this.processDue(now);
      return 'expired';
    }
    return rejectReceipt(message, receipt, this.name, SECRET_LENGTH);
  }

  ack(receipt: string): AckResult {
    const message = this.resolve(receipt, this.scheduler.now());
    if (typeof message === 'string') return REJECTED[message];
    this.leases.end(message);
    message.state = ACKED;
    message.payload = undefined;
    this.count.acked++;
    this.finish(message);
    this.leaseEnded();
    this.admitSenders();
    if (message.group !== undefined) this.serveWaiting();
    return ACK_OK;
  }

  nack(receipt: string, delay: number, error: unknown): NackResult {
    const now = this.scheduler.now();
    const message = this.resolve(receipt, now);
    if (typeof message === 'string') return REJECTED[message];
    this.leases.end(message);
    message.lastEnd = ENDED_RELEASED;
    if (error !== undefined) message.lastError = error;
    this.count.nacked++;
    if (message.attempts >= this.maxAttempts) {
      this.kill(message, 'nacked', now);
      this.leaseEnded();
      if (message.group !== undefined) this.serveWaiting();
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
    this.leases.end(message);
    message.lastEnd = ENDED_RELEASED;
    message.attempts--;
    message.state = VISIBLE;
    this.count.released++;
    this.leaseEnded();
    this.returnLater(message);
    return ACK_OK;
  }

  extend(receipt: string, ms: number): ExtendResult {
    const now = this.scheduler.now();
    const message = this.resolve(receipt, now);
    if (typeof message === 'string') return REJECTED[message];
    const deadline = now + ms;
    this.leases.extend(message, deadline, now);
    return { ok: true, deadline };
  }

  private delay(message: QueueMessage<T>, due: number, now: number): void {
    this.backlog.delay(message, due, this.ticket++, now);
  }

  private returnLater(message: QueueMessage<T>): void {
    this.backlog.returnLater(message, this.closed);
  }

  /** A lease left the heap: drop the timer if none is left; finish a pending close. */
  private leaseEnded(): void {
    if (this.leases.size > 0) return;
    this.leases.cancelTimer();
    if (this.shutdown.pending) this.shutdown.finalize(0);
  }

  /** Moves every lease past its deadline and every delayed message come due to the visible line. */
  protected override processDue(now: number): void {
    const leases = this.leases;
    const backlog = this.backlog;
    // Leases handed out while this loop runs (a consumer served from inside a callback) wait
    // for the next round, so a zero visibility timeout cannot spin here.
    const before = this.ticket;
    for (;;) {
      const leaseAt = leases.next;
      const dueAt = backlog.nextDue;
      if (leaseAt <= now && leaseAt <= dueAt && leases.nextOrder < before) {
        const message = leases.pop()!;
        this.count.expired++;
        message.lastEnd = ENDED_EXPIRED;
        if (message.attempts >= this.maxAttempts) {
          this.kill(message, 'expired', now);
        } else {
          backlog.show(message);
        }
      } else if (dueAt <= now) {
        backlog.enter(backlog.takeDue(now)!);
      } else {
        break;
      }
    }
    if (leases.size === 0) this.leaseEnded();
    else leases.arm(now);
    // Delayed messages matter only while someone may receive them: no timer once closed.
    backlog.armDelayed(now, this.closed);
    if (this.visible.size > 0 && this.consumers.waiting) this.serve();
  }

  // ---- dead letters -------------------------------------------------------------------

  private kill(message: QueueMessage<T>, reason: 'nacked' | 'expired', now: number): void {
    message.state = DEAD;
    this.leases.forget(message);
    this.count.deadLettered++;
    const letter: QueueDeadLetter<T> = deadLetterOf(message, reason, now);
    this.finish(message);
    const evicted = this.dead.add(message, letter);
    this.admitSenders();
    this.deadSubject.next(letter);
    // After the subject: this may run inside a timer that still has leases to expire.
    if (evicted !== undefined) this.dead.reportEvicted(evicted);
  }

  redrive(ids: Iterable<string> | undefined): RedriveResult {
    const result = this.dead.redrive(ids, (message) => {
      const current = message.named ? this.dedup.holder(message.id) : undefined;
      if (current !== undefined && current !== message && isLive(current)) return 'live';
      if (this.live >= this.capacity) return 'full';
      if (message.named) this.dedup.remember(message, false);
      this.backlog.enter(message);
      this.count.redriven++;
      return undefined;
    });
    if (this.consumers.waiting) this.serve();
    return result;
  }
}
