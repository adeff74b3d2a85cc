import { from, type Observable, type ObservableInput } from 'rxjs';
import { NoResultError } from '../../errors/noResultError.js';
import { ChannelFullError } from '../../errors.js';
import type { HandlerContext, IdempotentOutcome } from '../../idempotentRecords.js';
import { Feed, Intake, KeyWindow, LazySignal } from '../deliveryInternals.js';
import type { Outlet } from '../outlet.js';
import { type BufferConfig, type Offer, PolicyBuffer } from '../policyBuffer.js';
import { hideLink, Room, restoreLink } from '../roomLink.js';
import { OperatorStage } from './operatorStage.js';

/** `idempotent`'s validated options, as one subscription uses them. */
export interface IdempotentSettings<T, K, R> {
  readonly where: string;
  readonly handler: (message: T, context: HandlerContext<K>) => ObservableInput<R>;
  readonly key: (message: T) => K;
  readonly ttl: number;
  readonly maxKeys: number;
  readonly concurrency: number;
  readonly buffer: BufferConfig<T>;
  readonly now: () => number;
  readonly onDuplicate: ((message: T, key: K) => void) | undefined;
}

type Result<R> =
  | { readonly ok: true; readonly result: R }
  | { readonly ok: false; readonly error: unknown };

interface Run<T, K, R> {
  readonly key: K;
  readonly message: T;
  readonly context: RunContext<K>;
  inner: Intake<R> | undefined;
  /** Duplicates that arrived while this run was in progress; they share its outcome. */
  followers: T[] | undefined;
  over: boolean;
}

class RunContext<K> extends LazySignal implements HandlerContext<K> {
  constructor(readonly key: K) {
    super();
  }
}

/**
 * One subscription to `idempotent`: the remembered keys, the running handlers with the copies
 * attached to them, and the messages waiting for a slot. Built on `OperatorStage` (the ending
 * waits for every outcome owed; callbacks are guarded). Its intake is a `Feed`, not a
 * `BoundedStage`: every push message must be seen on arrival (a remembered key is answered at
 * once, a copy of a running key is attached to its run), and the capacity counts those attached
 * copies beside the waiting messages (the buffer's `extra` occupancy).
 */
export class IdempotentStage<T, K, R> extends OperatorStage<T, IdempotentOutcome<T, R>> {
  private readonly done: KeyWindow<K, R>;
  private readonly running = new Map<K, Run<T, K, R>>();
  private readonly waiting: PolicyBuffer<T>;
  /** Copies waiting for a running duplicate's outcome. */
  private attached = 0;
  private pumping = false;
  /** Pull source: messages taken whose outcome is not yet emitted, and messages asked for. */
  private pending = 0;
  private asked = 0;
  /** Outcomes of a finished run still being emitted (its own and its followers'). */
  private settling = 0;
  private readonly room: Room;
  private readonly feed: Feed<T>;

  constructor(
    out: Outlet<IdempotentOutcome<T, R>>,
    private readonly settings: IdempotentSettings<T, K, R>,
    source: Observable<T>,
  ) {
    super(out);
    this.done = new KeyWindow<K, R>(settings.ttl, settings.maxKeys);
    this.waiting = new PolicyBuffer<T>(settings.buffer, {
      extra: () => this.attached + out.backlog,
    });
    this.room = new Room(() => this.roomLeft());
    out.add(() => this.teardown());
    this.feed = new Feed<T>(source, out, this);
    out.onCredit = () => {
      this.pump();
      this.topUp();
    };
    out.onStop = () => {
      // the consumer drains: take nothing new, finish the runs, then complete
      if (this.ending !== undefined) return;
      if (this.feed.stop()) return;
      this.complete();
    };
    out.onStart = () => this.feed.start(this.room);
  }

  protected busy(): boolean {
    return (
      this.running.size > 0 ||
      this.waiting.size > 0 ||
      this.attached > 0 ||
      this.settling > 0 ||
      this.pumping
    );
  }

  override fail(error: unknown): void {
    this.feed.failure ??= { error }; // its source is told, so a channel it reads closes
    super.fail(error);
  }

  override next(message: T): void {
    if (this.feed.pulled) {
      this.asked--;
      this.pending++;
    }
    if (this.ending === undefined) this.accept(message);
  }

  protected accept(message: T): void {
    const k = this.keyOf(message);
    if (k !== NO_KEY) this.route(message, k, false);
  }

  /** The message's key, or `NO_KEY` when `key` threw (the output has failed). */
  private keyOf(message: T): K | typeof NO_KEY {
    try {
      return this.settings.key(message);
    } catch (error) {
      this.fail(error);
      return NO_KEY;
    }
  }

  /**
   * A run may start when a worker slot is free and every outcome owed (running messages and
   * the copies attached to them) has room in the output: its result has somewhere to go.
   */
  private canStart(): boolean {
    const running = this.running.size;
    return running < this.settings.concurrency && running + this.attached < this.out.credit;
  }

  /** Pull source: ask for as many messages as there are slots with room in the output. */
  private topUp(): void {
    if (!this.feed.pulled || this.out.closed || this.ending !== undefined) return;
    const want = Math.min(this.out.credit, this.settings.concurrency) - this.pending - this.asked;
    if (want > 0) {
      this.asked += want;
      this.feed.request(want);
    }
  }

  /**
   * Push source: how many more messages fit without the policy acting: free places in the
   * waiting line (copies attached to a run and outcomes the consumer has not asked for yet
   * count against it), plus the runs that could start at once.
   */
  private roomLeft(): number {
    if (this.ending !== undefined) return 0;
    const { waiting, running, attached, out } = this;
    const free = waiting.capacity - waiting.size - attached - out.backlog;
    if (waiting.size > 0) return free;
    const credit = out.credit - running.size - attached;
    const slots = this.settings.concurrency - running.size;
    return free + Math.max(0, Math.min(credit, slots));
  }

  /** Emits one message's outcome; a pull source may then send one more. */
  private emit(outcome: IdempotentOutcome<T, R>): void {
    this.out.next(outcome);
    if (this.feed.pulled) {
      this.pending--;
      this.topUp();
    }
  }

  private duplicate(message: T, k: K): boolean {
    const onDuplicate = this.settings.onDuplicate;
    return onDuplicate === undefined || this.guard(() => onDuplicate(message, k));
  }

  /** Decides what happens to a message: remembered, attached to its running copy, run, or wait. */
  private route(message: T, k: K, fromQueue: boolean): void {
    const { done, feed } = this;
    done.expire(this.settings.now());
    if (done.has(k)) {
      const result = done.get(k) as R;
      if (this.duplicate(message, k)) this.emit({ message, ok: true, result, shared: true });
      this.checkEnd();
      return;
    }
    const run = this.running.get(k);
    if (run !== undefined) {
      if (fromQueue || feed.pulled) this.attach(run, message, k);
      else this.hold(message, run, k);
      return;
    }
    if ((fromQueue || this.waiting.size === 0) && (feed.pulled || this.canStart())) {
      this.start(message, k);
    } else if (fromQueue) {
      this.waiting.push(message); // not reached: the pump only routes while a slot is free
    } else {
      this.hold(message, undefined, k);
    }
  }

  private attach(run: Run<T, K, R>, message: T, k: K): void {
    if (!this.duplicate(message, k)) return;
    if (run.followers === undefined) run.followers = [message];
    else run.followers.push(message);
    this.attached++;
  }

  /**
   * A message must wait (push source): within `capacity` (copies attached to a run and
   * outcomes not yet taken count too), or by the overflow policy, which under 'replace'
   * discards the oldest message waiting for a slot (the incoming one if only copies wait).
   */
  private hold(message: T, run: Run<T, K, R> | undefined, k: K): void {
    const waiting = this.waiting;
    if (this.room.inflow > 0 || !waiting.isFull) {
      if (run !== undefined) this.attach(run, message, k);
      else waiting.push(message);
      return;
    }
    let offer: Offer = 'full';
    const ok = this.guard(() => {
      offer =
        run === undefined
          ? waiting.overflow(message)
          : waiting.overflow(message, (m) => this.attach(run, m, k));
    });
    if (!ok || offer !== 'full') return;
    const where = this.settings.where;
    this.ending = {
      failed: true,
      error: new ChannelFullError(
        `${where}: ${this.running.size} running and ${waiting.size + this.attached} waiting (capacity ${waiting.capacity})` +
          (waiting.policy === 'block'
            ? `; a push source cannot wait under 'block': use a sluice pull source, a larger capacity, or 'drop' or 'replace'`
            : ''),
        message,
      ),
    };
    this.feed.cancel();
    this.checkEnd();
  }

  private start(message: T, k: K): void {
    const run: Run<T, K, R> = {
      key: k,
      message,
      context: new RunContext(k),
      inner: undefined,
      followers: undefined,
      over: false,
    };
    this.running.set(k, run);
    let input: ObservableInput<R>;
    const link = hideLink(); // the handler's own sources must not see a link meant for us
    try {
      input = this.settings.handler(message, run.context);
    } catch (error) {
      restoreLink(link);
      this.finish(run, { ok: false, error });
      return;
    }
    const inner = new Intake<R>(
      (result) => this.finish(run, { ok: true, result }),
      (error) => this.finish(run, { ok: false, error }),
      () => this.finish(run, { ok: false, error: new NoResultError() }),
    );
    run.inner = inner;
    try {
      from(input).subscribe(inner);
    } catch (error) {
      inner.unsubscribe();
      this.finish(run, { ok: false, error });
    } finally {
      restoreLink(link);
    }
  }

  private finish(run: Run<T, K, R>, outcome: Result<R>): void {
    if (run.over) return;
    run.over = true;
    run.inner?.unsubscribe();
    this.running.delete(run.key);
    if (outcome.ok) {
      const now = this.settings.now();
      this.done.expire(now);
      this.done.set(run.key, outcome.result, now);
    }
    const followers = run.followers;
    run.followers = undefined;
    if (followers !== undefined) this.attached -= followers.length;
    // emitting may pull the source to its end: the end waits for every outcome of this run
    this.settling++;
    try {
      this.emit({ message: run.message, ...outcome, shared: false });
      if (followers !== undefined) {
        for (const message of followers) {
          if (this.out.closed) return;
          this.emit({ message, ...outcome, shared: true });
        }
      }
    } finally {
      this.settling--;
    }
    if (this.out.closed) return;
    this.pump();
    this.checkEnd();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.out.closed && this.waiting.size > 0 && this.canStart()) {
        const message = this.waiting.shift();
        const k = this.keyOf(message);
        if (k === NO_KEY) return;
        this.route(message, k, true);
      }
    } finally {
      this.pumping = false;
    }
    this.room.wake();
    this.checkEnd();
  }

  private teardown(): void {
    const { feed, room } = this;
    this.ending ??= { failed: false };
    feed.failure ??= this.out.cancelledBy;
    room.failure = feed.failure;
    // the intake first: a closed room is unlimited, and a linked source still attached
    // would be asked for everything it has
    feed.cancel();
    room.close();
    for (const run of this.running.values()) {
      run.over = true;
      run.followers = undefined;
      run.inner?.unsubscribe();
      run.context.abort();
    }
    this.running.clear();
    this.attached = 0;
    this.waiting.drain();
    this.done.clear();
  }
}

/** What `keyOf` returns when the key function threw. */
const NO_KEY: unique symbol = Symbol('sluice.noKey');
