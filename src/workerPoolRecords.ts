/**
 * What `workerPool` tells its workers and its `onJobError`. They live in the vocabulary (the
 * operator re-exports them) because the pool's engine in `internal/` builds them too.
 */

/** What a worker knows about the job it runs. */
export interface WorkerContext {
  /**
   * Which worker runs the job: a small whole number from 0, reused as workers free up; below
   * `concurrency`, and below the highest limit in force while it changes.
   */
  readonly workerId: number;
  /** Aborted when the pool's subscriber unsubscribes or the pool fails while the job runs. */
  readonly signal: AbortSignal;
}

/** A failed job, as reported to `onJobError`. */
export interface JobFailure<T> {
  readonly job: T;
  readonly error: unknown;
  readonly workerId: number;
}
