/**
 * The queue's consumers waiting for deliveries, in the order they started waiting: `receive()`
 * long polls (served one batch, then done) and pull streams (`consume`, served one delivery
 * per requested one).
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import { type Scheduled, scheduleAt } from '../deadlineTimer.js';
import type { Demand, Sink } from '../demand.js';
import { Line, type Linked } from '../waiting/line.js';

interface Taker<D> extends Linked<Taker<D>> {
  demand: number;
  live: boolean;
  /** A `receive()`: served one batch, then done. */
  readonly once: boolean;
  take(delivery: D): void;
  end(): void;
}

export class Consumers<D> {
  private readonly line = new Line<Taker<D>>();
  private readonly streams = new Set<Taker<D>>();
  private serving = false;
  private serveAgain = false;

  /** Whether someone waits for a delivery. */
  get waiting(): boolean {
    return this.line.size > 0;
  }

  /**
   * A long poll: resolves with up to `max` deliveries once one arrives, with `[]` after `wait`
   * ms or on close, rejects with the signal's reason when aborted (taking nothing).
   */
  wait(
    max: number,
    wait: number,
    signal: AbortSignal | undefined,
    scheduler: SchedulerLike,
  ): Promise<D[]> {
    const now = scheduler.now();
    return new Promise<D[]>((resolve, reject) => {
      const batch: D[] = [];
      let timer: Scheduled | undefined;
      let onAbort: (() => void) | undefined;
      const cleanup = () => {
        timer?.cancel();
        timer = undefined;
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      };
      const taker: Taker<D> = {
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
      const leave = (): boolean => {
        if (!taker.live) return false;
        taker.live = false;
        cleanup();
        this.line.remove(taker);
        return true;
      };
      if (signal) {
        onAbort = () => {
          if (leave()) reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (wait !== Number.POSITIVE_INFINITY) {
        timer = scheduleAt(scheduler, now + wait, () => {
          timer = undefined;
          if (leave()) resolve(batch);
        });
      }
    });
  }

  /** A pull stream: `onRequest` runs after each request joined the line (to serve it). */
  stream(sink: Sink<D>, onRequest: () => void): Demand {
    const taker: Taker<D> = {
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
        onRequest();
      },
      cancel: () => {
        if (!taker.live) return;
        taker.live = false;
        this.streams.delete(taker);
        this.line.remove(taker);
      },
    };
  }

  /**
   * Hands deliveries to waiting consumers in the order they started waiting, while `next()`
   * gives one (it leases the next visible message) and `open()` holds. Re-entrancy safe: a
   * consumer called from here may request, receive or enqueue.
   */
  serve(next: () => D | undefined, hasNext: () => boolean, open: () => boolean): void {
    if (this.serving) {
      this.serveAgain = true;
      return;
    }
    this.serving = true;
    try {
      do {
        this.serveAgain = false;
        const line = this.line;
        while (line.size > 0 && open() && hasNext()) {
          const taker = line.peek() as Taker<D>;
          if (!taker.live || taker.demand <= 0) {
            line.remove(taker);
            continue;
          }
          const delivery = next() as D;
          taker.demand--;
          if (taker.once && (taker.demand === 0 || !hasNext())) {
            line.remove(taker);
            taker.live = false;
            taker.take(delivery);
            taker.end();
          } else {
            taker.take(delivery); // a stream consumer may re-enter from here
          }
        }
      } while (this.serveAgain && open());
    } finally {
      this.serving = false;
    }
  }

  /** Close: long polls resolve with what they have, streams complete. */
  endAll(): void {
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
  }
}
