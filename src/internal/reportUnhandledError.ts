import { config } from 'rxjs';

/**
 * An error that has nowhere to go (the consumer has cancelled, or a sink broke the protocol by
 * throwing): handed to RxJS's `config.onUnhandledError` when set, otherwise rethrown
 * asynchronously, the way RxJS reports an error no subscriber can take. Never swallowed.
 */
export function reportUnhandledError(err: unknown): void {
  queueMicrotask(() => {
    const handler = config.onUnhandledError;
    if (handler) handler(err);
    else throw err;
  });
}
