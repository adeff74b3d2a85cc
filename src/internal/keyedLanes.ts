import { Ring } from './ring.js';

/** The jobs of one key: those waiting, in arrival order, and how many run. */
interface Lane<T> {
  readonly key: unknown;
  /** Made when a job first has to wait: a key whose jobs never wait costs no buffer. */
  waiting: Ring<T> | undefined;
  running: number;
  /** It is in the ready line (it has a waiting job and room to run it). */
  queued: boolean;
}

/**
 * Jobs waiting for a worker, one lane per key: at most `perKey` jobs of a key run at once, in
 * arrival order, and a key whose lane is full does not hold back the others. Keys that can
 * start a job wait in one ready line, first come first served, so `take` is O(1) however many
 * keys wait. A lane is forgotten once it has nothing waiting and nothing running, so the memory
 * held is in proportion to the keys in use, not to every key ever seen.
 *
 * With `perKey` `Infinity` and a single key it is a plain first-in first-out queue: the pool
 * uses it so to hold jobs while it is paused.
 */
export class KeyedLanes<T> {
  private readonly lanes = new Map<unknown, Lane<T>>();
  private readonly ready = new Ring<Lane<T>>(4);
  /** Jobs waiting, in all lanes. */
  size = 0;

  constructor(private readonly perKey: number) {}

  /**
   * A job of `key` arrives while a worker is free: true if it may start at once (nothing of its
   * key waits and the key has room), counted as running; false if it must `push` and wait.
   */
  enter(key: unknown): boolean {
    const lane = this.lanes.get(key);
    if (lane === undefined) {
      this.lanes.set(key, { key, waiting: undefined, running: 1, queued: false });
      return true;
    }
    if (lane.running >= this.perKey || (lane.waiting !== undefined && lane.waiting.size > 0)) {
      return false;
    }
    lane.running++;
    return true;
  }

  /** A job arrives: it waits at the back of its key's lane. */
  push(key: unknown, job: T): void {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { key, waiting: undefined, running: 0, queued: false };
      this.lanes.set(key, lane);
    }
    lane.waiting ??= new Ring<T>(2);
    lane.waiting.push(job);
    this.size++;
    this.enqueue(lane);
  }

  /** Whether a waiting job may start now (its key has room). */
  get hasReady(): boolean {
    return this.ready.size > 0;
  }

  /**
   * The next job that may start, counted as running; call only when `hasReady`. Its key is
   * `takenKey` until the next call (no object per job).
   */
  take(): T {
    const lane = this.ready.shift();
    lane.queued = false;
    const job = lane.waiting!.shift();
    this.size--;
    lane.running++;
    this.takenKey = lane.key;
    // room for more of this key (perKey > 1): it goes to the back, so keys take turns
    this.enqueue(lane);
    return job;
  }

  /** The key of the job `take` returned last. */
  takenKey: unknown;

  /** A job that `take` let out is over: its key may start the next. */
  done(key: unknown): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.running--;
    if (lane.running === 0 && (lane.waiting === undefined || lane.waiting.size === 0)) {
      this.lanes.delete(key);
    } else this.enqueue(lane);
  }

  /** Forgets everything (the pool's subscription ended). */
  clear(): void {
    this.lanes.clear();
    this.ready.drain();
    this.size = 0;
  }

  private enqueue(lane: Lane<T>): void {
    if (
      !lane.queued &&
      lane.waiting !== undefined &&
      lane.waiting.size > 0 &&
      lane.running < this.perKey
    ) {
      lane.queued = true;
      this.ready.push(lane);
    }
  }
}
