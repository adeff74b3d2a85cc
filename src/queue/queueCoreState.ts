/**
 * The state of the in-memory queue engine (`QueueCore`) and its cold paths: the parts it is made
 * of, built from the validated settings, and the calls that are not on a message's way through
 * the queue (close, stats, listing and purging dead letters). `QueueCore` adds the life cycle.
 * @module
 */
import { type SchedulerLike, Subject } from 'rxjs';
import { PolicyBuffer } from '../internal/policyBuffer.js';
import { Backlog } from '../internal/queue/backlog.js';
import { Consumers } from '../internal/queue/consumers.js';
import { QueueCounters } from '../internal/queue/counters.js';
import { DeadLetters } from '../internal/queue/deadLetters.js';
import { DedupIndex } from '../internal/queue/dedupIndex.js';
import { Leases } from '../internal/queue/leases.js';
import { GONE, type QueueMessage } from '../internal/queue/message.js';
import { queueErrors } from '../internal/queue/queueErrors.js';
import { QueueShutdown } from '../internal/queue/queueShutdown.js';
import { Slab } from '../internal/queue/slab.js';
import { WaitList } from '../internal/waiting/waitList.js';
import type { OverflowPolicy } from '../overflow.js';
import type { CoreConfig, SendWaiter } from './coreConfig.js';
import { randomName } from './receiptSecret.js';
import type { CloseResult, Delivery, EnqueueResult, QueueDeadLetter, QueueStats } from './types.js';

/** The engine's parts and cold paths; see the module summary. */
export abstract class QueueCoreState<T> {
  readonly scheduler: SchedulerLike;
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly capacity: number;
  protected readonly policy: OverflowPolicy;
  /** The overflow policy, applied to the queue's own lines; it counts what it discards. */
  protected readonly overflowPolicy: PolicyBuffer<T>;

  protected readonly slab = new Slab<T>();
  protected readonly backlog: Backlog<T>;
  // the backlog's parts, held directly for the hot paths and the overflow policy
  protected readonly visible: Backlog<T>['visible'];
  protected readonly returned: Backlog<T>['returned'];
  protected readonly delayed: Backlog<T>['delayed'];
  protected readonly leases: Leases<T>;
  protected readonly dedup: DedupIndex<T>;
  protected readonly dead: DeadLetters<T, QueueDeadLetter<T>>;
  protected readonly consumers = new Consumers<Delivery<T>>();
  /** Sends waiting for room; an aborted one leaves at once. */
  protected readonly senders = new WaitList<SendWaiter<T>, EnqueueResult>();
  readonly deadSubject = new Subject<QueueDeadLetter<T>>();

  /**
   * This queue's random name (48 bits): every receipt carries it, so a receipt of another queue
   * is refused even where its other fields happen to match.
   */
  protected readonly name = randomName(8);
  closed = false;
  protected readonly shutdown: QueueShutdown<T>;

  protected readonly count = new QueueCounters();

  constructor(config: CoreConfig<T>) {
    this.scheduler = config.scheduler;
    const onTimer = () => this.processDue(this.scheduler.now());
    this.leases = new Leases<T>(config.scheduler, onTimer);
    this.backlog = new Backlog<T>(config.scheduler, onTimer, () => {
      if (this.visible.size > 0 && this.consumers.waiting) this.serve();
    });
    this.visible = this.backlog.visible;
    this.returned = this.backlog.returned;
    this.delayed = this.backlog.delayed;
    this.visibilityTimeout = config.visibilityTimeout;
    this.maxAttempts = config.maxAttempts;
    this.capacity = config.capacity;
    this.policy = config.overflow;
    this.overflowPolicy = new PolicyBuffer<T>({
      capacity: config.capacity,
      overflow: config.overflow,
      onOverflow: config.onOverflow,
    });
    this.dedup = new DedupIndex<T>(
      config.dedupWindow,
      `${this.name}-`,
      (slot) => this.slab.at(slot),
      (message) => this.finish(message),
    );
    this.dead = new DeadLetters<T, QueueDeadLetter<T>>(
      config.deadCapacity,
      config.onEvict,
      (message) => this.dropDead(message),
    );
    this.shutdown = new QueueShutdown<T>({
      scheduler: config.scheduler,
      leases: this.leases,
      backlog: this.backlog,
      count: this.count,
      stop: () => {
        this.closed = true;
        this.senders.rejectAll(({ payload }) => queueErrors.closed(payload));
        this.consumers.endAll();
      },
      done: () => this.deadSubject.complete(),
    });
  }
  /** Moves every lease past its deadline and every delayed message come due to the visible line. */
  protected abstract processDue(now: number): void;
  /** Hands visible messages to waiting consumers. */
  protected abstract serve(): void;
  /** A message left the live queue. */
  protected abstract finish(message: QueueMessage<T>): void;
  /** Processes every lease expiry and delay that is due by `now`. */
  protected abstract catchUp(now: number): void;

  private dropDead(message: QueueMessage<T>): void {
    message.state = GONE;
    message.payload = undefined;
    this.finish(message);
  }

  deadLetters(): QueueDeadLetter<T>[] {
    return this.dead.letters();
  }

  purgeDeadLetters(ids: Iterable<string> | undefined): QueueDeadLetter<T>[] {
    const purged: QueueDeadLetter<T>[] = [];
    for (const { letter, message } of this.dead.select(ids, [])) {
      this.dead.remove(message, true);
      purged.push(letter);
    }
    this.dead.compact();
    return purged;
  }

  close(grace: number): Promise<CloseResult> {
    return this.shutdown.close(grace);
  }

  /** Tells `onReleased` when close() releases the lease of `receipt` (see `QueueStore`). */
  watchRelease(receipt: string, onReleased: () => void): () => void {
    return this.leases.watch(receipt, onReleased);
  }

  stats(): QueueStats {
    const now = this.scheduler.now();
    this.dedup.prune(now);
    this.catchUp(now);
    return {
      visible: this.visible.size + this.returned.size + this.backlog.groups.waiting,
      inFlight: this.leases.size,
      delayed: this.delayed.size,
      dead: this.dead.size,
      ...this.count.snapshot(),
      dropped: this.overflowPolicy.dropped,
      deadEvicted: this.dead.evicted,
    };
  }
}
