import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkOptions,
  describe,
} from '../internal/validate.js';
import { type AmqpSerializer, jsonSerializer } from './codec.js';
import { type AmqpConnection, checkConnection } from './connection.js';

/** Options of `AmqpPublisher`. */
export interface AmqpPublisherOptions<T> {
  /** The connection to open the publisher's confirm channel on. */
  readonly connection: AmqpConnection;
  /** The exchange to publish to; `''` is the default exchange (routing key = queue name). */
  readonly exchange: string;
  /** The routing key of every message, or a function computing it from the payload. */
  readonly routingKey: string | ((payload: T) => string);
  /**
   * Messages published and not yet confirmed by the broker; one more `send()` waits for a
   * confirmation. @default 100
   */
  readonly maxUnconfirmed?: number;
  /**
   * Publish `mandatory`: a message no queue is bound to receive comes back and its send
   * rejects with `UnroutableError`. Without it the broker confirms and drops such a message.
   * @default true
   */
  readonly mandatory?: boolean;
  /** Mark messages persistent (delivery mode 2). @default true */
  readonly persistent?: boolean;
  /** Payload encoding. @default jsonSerializer() */
  readonly serializer?: AmqpSerializer<T>;
  /**
   * Where failures of messages handed to `next()` go (the Observer path has no promise to
   * reject): an `UnroutableError`, `PublishFailedError`, `ChannelClosedError` or `TypeError`
   * carrying the message. Without it they are reported as RxJS reports unhandled errors
   * (`config.onUnhandledError`, by default rethrown asynchronously).
   */
  readonly onFailure?: (error: unknown) => void;
}

/** Options of one `send`. */
export interface AmqpSendOptions {
  /** Abandons the wait for room or for the channel; once published, the send can no longer be withdrawn. */
  readonly signal?: AbortSignal;
  /** This message's routing key, instead of the publisher's. */
  readonly routingKey?: string;
  /** AMQP headers of this message. */
  readonly headers?: Readonly<Record<string, unknown>>;
  /** The message's `messageId` property. @default an id unique to this publisher and message */
  readonly messageId?: string;
}

/** `AmqpPublisher`'s options, checked, with their defaults (internal). */
export interface PublisherSettings<T> {
  readonly connection: AmqpConnection;
  readonly exchange: string;
  readonly routingKey: (message: T) => string;
  readonly maxUnconfirmed: number;
  readonly mandatory: boolean;
  readonly persistent: boolean;
  readonly serializer: AmqpSerializer<T>;
  readonly onFailure: ((error: unknown) => void) | undefined;
}

/** Checks `AmqpPublisher`'s options (a bad one throws, named) and fills in the defaults. */
export function publisherSettings<T>(
  where: string,
  options: AmqpPublisherOptions<T>,
): PublisherSettings<T> {
  const opts = checkOptions<AmqpPublisherOptions<T>>(where, options);
  const connection = checkConnection(where, opts.connection, 'createConfirmChannel');
  if (typeof opts.exchange !== 'string') {
    throw new TypeError(
      `${where}: exchange must be a string ('' for the default exchange), got ${describe(opts.exchange)}`,
    );
  }
  const key = opts.routingKey;
  let routingKey: (message: T) => string;
  if (typeof key === 'string') routingKey = () => key;
  else if (typeof key === 'function') routingKey = key;
  else {
    throw new TypeError(
      `${where}: routingKey must be a string or a function of the message, got ${describe(key)}`,
    );
  }
  const maxUnconfirmed =
    opts.maxUnconfirmed === undefined
      ? 100
      : checkInteger(where, 'maxUnconfirmed', opts.maxUnconfirmed, 1);
  const mandatory =
    opts.mandatory === undefined ? true : checkBoolean(where, 'mandatory', opts.mandatory);
  const persistent =
    opts.persistent === undefined ? true : checkBoolean(where, 'persistent', opts.persistent);
  const serializer = opts.serializer ?? jsonSerializer<T>();
  if (typeof serializer?.serialize !== 'function') {
    throw new TypeError(
      `${where}: serializer must have serialize and deserialize, got ${describe(opts.serializer)}`,
    );
  }
  const onFailure = checkFunction<(error: unknown) => void>(
    where,
    'onFailure',
    opts.onFailure,
    true,
  );
  return {
    connection,
    exchange: opts.exchange,
    routingKey,
    maxUnconfirmed,
    mandatory,
    persistent,
    serializer,
    onFailure,
  };
}

/** A promise that also rejects with the signal's reason when it aborts first. */
export function abortable<R>(promise: Promise<R>, signal: AbortSignal | undefined): Promise<R> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
