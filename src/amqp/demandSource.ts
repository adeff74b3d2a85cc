/**
 * The one place `sluice/amqp` meets sluice's internal demand protocol (src/internal/demand.ts).
 * Receivers describe themselves as `open(sink) → { request, cancel }` and this file turns that
 * into an Observable that a demand-aware consumer (`workerPool`, `consumeAmqp`, `for await`)
 * pulls from, and that a plain subscriber reads with unlimited demand.
 * @module
 */
import type { Observable } from 'rxjs';
import { PullObservable } from '../internal/demand.js';

/** Where a pulled source delivers. */
export interface PullSink<T> {
  next(value: T): void;
  error(err: unknown): void;
  complete(): void;
}

/** The consumer's side of one pull subscription. */
export interface PullControl {
  /** `n` more values are wanted (a whole number, or Infinity). */
  request(n: number): void;
  /** No more values are wanted; nothing reaches the sink afterwards. */
  cancel(): void;
}

/** An Observable pulled on demand, from a function that opens one pull subscription. */
export function demandSource<T>(open: (sink: PullSink<T>) => PullControl): Observable<T> {
  return new PullObservable<T>(open);
}
