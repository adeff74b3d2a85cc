/**
 * An `idempotent` handler completed without emitting a result. Like any handler failure it is
 * an outcome, `{ ok: false, error }`, not an error of the output; the key is not remembered, so
 * the next copy of the message runs the handler again. A handler with nothing to return should
 * emit a value that says so (`of(null)`).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { EMPTY, firstValueFrom, of } from 'rxjs';
 * import { idempotent, NoResultError } from 'sluice';
 *
 * const outcome = await firstValueFrom(of('payment-1').pipe(idempotent(() => EMPTY)));
 * assert.equal(outcome.ok, false);
 * assert.ok(!outcome.ok && outcome.error instanceof NoResultError);
 * ```
 */
export class NoResultError extends Error {
  override readonly name = 'NoResultError' as const;
  constructor() {
    super('idempotent: handler completed without a result');
  }
}
