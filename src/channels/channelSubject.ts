import {
  ObjectUnsubscribedError,
  type Observable,
  type Observer,
  Subject,
  type Subscriber,
  type TeardownLogic,
} from 'rxjs';
import {
  type Demand,
  type Pullable,
  PullObservable,
  pull,
  type Sink,
  subscribeUnlimited,
} from '../internal/demand.js';
import { PullIterator } from '../internal/pullIterator.js';

const NO_DEMAND: Demand = Object.freeze({ request() {}, cancel() {} });

/**
 * @internal The one implementation behind `broadcastSubject`, `watchSubject`, `mpmcSubject`
 * and `oneshotSubject`: an RxJS `Subject` whose Observer side is a channel's sender and whose
 * Observable side reads the channel's receiver.
 *
 * RxJS's Subject rules are kept here, once: `next`, `error` and `complete` throw
 * `ObjectUnsubscribedError` after `unsubscribe()`; after `error` or `complete` the Subject is
 * stopped and further calls are ignored; a reader that arrives after the end gets the end at
 * once (a kind may let the channel decide instead, see `endsAtOnce`). Everything else is the
 * channel's own behaviour: what a `next` does when the channel is full or closed, lag, counters.
 *
 * Every reader goes through `[pull]`: a plain subscription is unlimited demand on it
 * (`subscribeUnlimited`), and sluice's demand-aware consumers (`workerPool`, `for await`) pull
 * from the view as they would from the receiver.
 */
export abstract class ChannelSubject<T>
  extends Subject<T>
  implements Pullable<T>, AsyncIterable<T>
{
  /** Readers now: subscriptions and pull consumers through this view. */
  private readers = 0;

  constructor(
    private readonly channelTx: Observer<T>,
    private readonly channelRx: Observable<T> & Pullable<T>,
  ) {
    super();
  }

  override next(value: T): void {
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    this.channelTx.next(value);
  }

  override error(err: unknown): void {
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    this.isStopped = this.hasError = true;
    this.thrownError = err;
    this.channelTx.error(err);
  }

  override complete(): void {
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.isStopped) return;
    this.isStopped = true;
    this.channelTx.complete();
  }

  /** True while some subscription or pull consumer reads through this view. */
  override get observed(): boolean {
    return this.readers > 0;
  }

  /** Keeps the view demand-aware: the plain Observable `Subject` would hide `[pull]`. */
  override asObservable(): Observable<T> {
    return new PullObservable<T>((sink) => this[pull](sink));
  }

  /** RxJS calls this for every `subscribe`: unlimited demand on the pull path. */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return subscribeUnlimited(this, subscriber);
  }

  readonly [pull] = (sink: Sink<T>): Demand => {
    if (this.closed) throw new ObjectUnsubscribedError();
    if (this.endsAtOnce(sink)) return NO_DEMAND;
    this.readers++;
    let counted = true;
    const leave = (): void => {
      if (!counted) return;
      counted = false;
      this.readers--;
    };
    const upstream = this.channelRx[pull]({
      next: (value) => sink.next(value),
      error: (err) => {
        leave();
        this.deliverError(sink, err);
      },
      complete: () => {
        leave();
        sink.complete();
      },
    });
    return {
      request: (n) => upstream.request(n),
      cancel: () => {
        leave();
        upstream.cancel();
      },
    };
  };

  /** `for await` over the view: a pull reader of the channel, one message per iteration. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new PullIterator<T>(this);
  }

  /**
   * RxJS's rule for a reader that arrives after the end: the error, or completion, at once.
   * Returns true when it handled the reader. A kind whose channel keeps messages for later
   * readers (mpmc) overrides this to let the channel decide.
   */
  protected endsAtOnce(sink: Sink<T>): boolean {
    if (this.hasError) {
      sink.error(this.thrownError);
      return true;
    }
    if (this.isStopped) {
      sink.complete();
      return true;
    }
    return false;
  }

  /** How a channel error reaches a reader; a kind may translate the channel's own errors. */
  protected deliverError(sink: Sink<T>, err: unknown): void {
    sink.error(err);
  }
}
