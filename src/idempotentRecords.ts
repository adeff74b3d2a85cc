/**
 * What `idempotent` tells its handler and emits. They live in the vocabulary (the operator
 * re-exports them) because the engine in `internal/` builds them too.
 */

/** What the handler is told about the message it runs for. */
export interface HandlerContext<K> {
  /** The message's key. */
  readonly key: K;
  /** Aborts when the output is unsubscribed while the handler runs. */
  readonly signal: AbortSignal;
}

/**
 * The outcome of one message, as `idempotent` emits it: every message gets exactly one.
 * `shared` is true when this message's handler did not run because another message with the
 * same key ran it (still running when this one arrived, or succeeded within `ttl`).
 */
export type IdempotentOutcome<T, R> =
  | { readonly message: T; readonly ok: true; readonly result: R; readonly shared: boolean }
  | { readonly message: T; readonly ok: false; readonly error: unknown; readonly shared: boolean };
