import type { Observable, Subject } from 'rxjs';
import { ChannelClosedError } from '../errors.js';
import type { Pullable, Sink } from '../internal/demand.js';
import { ChannelSubject } from './channelSubject.js';
import { type OneshotReceiver, type OneshotSender, oneshot } from './oneshot.js';

/**
 * A `oneshot` channel seen as one RxJS `Subject<T>`, used like an `AsyncSubject`: one value,
 * replayed with completion to every reader. See {@link oneshotSubject}.
 */
export interface OneshotSubject<T> extends Subject<T>, AsyncIterable<T> {
  /** True once the value was sent. */
  readonly hasValue: boolean;
  /** `for await` yields the value once, then ends. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

class View<T> extends ChannelSubject<T> implements OneshotSubject<T> {
  constructor(
    tx: OneshotSender<T>,
    private readonly rx: OneshotReceiver<T>,
  ) {
    super(tx, rx as Observable<T> as Observable<T> & Pullable<T>);
  }
  get hasValue(): boolean {
    return this.rx.sent === 1;
  }
  /** After the value, the channel ignores `error`: so does the Subject, whose readers completed. */
  override error(err: unknown): void {
    if (this.hasValue && !this.closed) {
      this.isStopped = true;
      return;
    }
    super.error(err);
  }
  /** The channel replays the value with completion to late readers: let it answer them. */
  protected override endsAtOnce(sink: Sink<T>): boolean {
    if (this.hasError) {
      sink.error(this.thrownError);
      return true;
    }
    return false;
  }
  /** Completed without a value: the channel says `ChannelClosedError`, an AsyncSubject completes. */
  protected override deliverError(sink: Sink<T>, err: unknown): void {
    if (this.isStopped && !this.hasError && err instanceof ChannelClosedError) sink.complete();
    else sink.error(err);
  }
}

/**
 * A `oneshot` channel that is an RxJS `Subject<T>`: the first `next(value)` is the answer,
 * and every reader, now or later, gets it and completes, like an `AsyncSubject` that has
 * completed. Hand it to `share({ connector: () => oneshotSubject() })` or `connectable`, or
 * keep it in a field typed `Subject<T>`.
 *
 * ```text
 * next/complete:  ----v------|
 * subscriber:     ----(v|)
 * subscribed later:      (v|)         at once
 *
 * complete only:  ----|
 * subscriber:     ----|               empty, as AsyncSubject
 * ```
 *
 * Differences from `AsyncSubject`: the value is delivered when it is sent, not at
 * `complete()`, and it is the first value, not the last. A second `next` is a mistake a
 * oneshot refuses loudly: it throws `ChannelClosedError` carrying the value (put `take(1)` or
 * `first()` in front of a source that may emit more). Behind `share()` this rarely matters:
 * every subscriber completes with the value, so the share resets and unsubscribes the source.
 *
 * **Backpressure.** None is needed: one slot, free for the first value.
 *
 * **Errors.** As RxJS's `Subject`: after `error(e)` or `complete()` later calls are ignored
 * (an `error` after the value is ignored too: readers already completed), a reader that
 * arrives after `error(e)` gets `e`, and after `unsubscribe()` every call throws
 * `ObjectUnsubscribedError`. `complete()` without a value completes every reader empty.
 *
 * **Cancellation.** Unsubscribing removes only that reader; the value stays for the others.
 *
 * @returns A `Subject<T>` for one value.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { firstValueFrom } from 'rxjs';
 * import { oneshotSubject } from 'sluice';
 *
 * const reply = oneshotSubject<number>();
 * const early = firstValueFrom(reply);
 * reply.next(42);
 * assert.equal(await early, 42);
 * assert.equal(await firstValueFrom(reply), 42); // replayed to a later reader
 * assert.throws(() => reply.next(43)); // one value only
 * ```
 */
export function oneshotSubject<T>(): OneshotSubject<T> {
  const [tx, rx] = oneshot<T>();
  return new View(tx, rx);
}
