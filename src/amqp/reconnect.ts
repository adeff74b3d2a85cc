/**
 * `consumeAmqp`'s opt-in reconnection: when the consumer's channel is lost, wait (a bounded,
 * doubling back-off on the consumer's scheduler), open a new connection and consume again. The
 * broker redelivers whatever was not acked, so nothing is lost; handlers that were running when
 * the channel went were aborted and their messages come back with a raised delivery count.
 * @module
 */
import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { checkDuration, checkFunction, checkInteger, checkOptions } from '../internal/validate.js';
import type { AmqpConnection } from './connection.js';
import { ChannelLostError } from './errors.js';

/** Options of `consumeAmqp`'s `reconnect`. */
export interface AmqpReconnectOptions {
  /**
   * Opens a new connection (`() => amqplib.connect(url)`). The consumer closes the connections
   * it opened this way when it ends; the first one, `connection`, stays the caller's.
   */
  readonly connect: () => Promise<AmqpConnection>;
  /**
   * Reconnections tried in a row (a failed `connect`, or a channel lost again before any
   * delivery was settled) before the stream errors with the last error. @default 10
   */
  readonly maxAttempts?: number;
  /** Milliseconds before the first try; each next try waits twice as long. @default 100 */
  readonly initialDelay?: number;
  /** The longest wait between tries, in milliseconds. @default 5000 */
  readonly maxDelay?: number;
}

/** Checked reconnect options. */
export interface ReconnectSettings {
  readonly connect: () => Promise<AmqpConnection>;
  readonly maxAttempts: number;
  readonly initialDelay: number;
  readonly maxDelay: number;
}

const KNOWN = ['connect', 'maxAttempts', 'initialDelay', 'maxDelay'];

export function reconnectSettings(where: string, value: unknown): ReconnectSettings | undefined {
  if (value === undefined) return undefined;
  const opts = checkOptions<AmqpReconnectOptions>(`${where} reconnect`, value, KNOWN);
  const connect = checkFunction<() => Promise<AmqpConnection>>(
    where,
    'reconnect.connect',
    opts.connect,
  );
  const maxAttempts =
    opts.maxAttempts === undefined
      ? 10
      : checkInteger(where, 'reconnect.maxAttempts', opts.maxAttempts, 1);
  const initialDelay =
    opts.initialDelay === undefined
      ? 100
      : checkDuration(where, 'reconnect.initialDelay', opts.initialDelay);
  const maxDelay =
    opts.maxDelay === undefined ? 5000 : checkDuration(where, 'reconnect.maxDelay', opts.maxDelay);
  return { connect, maxAttempts, initialDelay, maxDelay };
}

async function closeConnection(connection: AmqpConnection | undefined): Promise<void> {
  const closable = connection as { close?: () => Promise<void> } | undefined;
  try {
    await closable?.close?.();
  } catch {
    // already closed
  }
}

/**
 * Runs `consume(first)`; when it fails with `ChannelLostError`, consumes again on a connection
 * from `settings.connect`, after a back-off. `isProgress` says which values prove the new
 * consumer works (they reset the count of tries).
 */
export function reconnecting<V>(
  first: AmqpConnection,
  consume: (connection: AmqpConnection) => Observable<V>,
  settings: ReconnectSettings,
  scheduler: SchedulerLike,
  isProgress: (value: V) => boolean,
): Observable<V> {
  return new Observable<V>((subscriber) => {
    let tries = 0;
    let current: Subscription | undefined;
    let waiting: Subscription | undefined;
    let opened: AmqpConnection | undefined; // ours to close
    const start = (connection: AmqpConnection) => {
      current = consume(connection).subscribe({
        next: (value) => {
          if (isProgress(value)) tries = 0;
          subscriber.next(value);
        },
        error: (error: unknown) => {
          if (error instanceof ChannelLostError) retry(error);
          else subscriber.error(error);
        },
        complete: () => subscriber.complete(),
      });
    };
    const retry = (error: unknown) => {
      if (subscriber.closed) return;
      if (tries >= settings.maxAttempts) {
        subscriber.error(error);
        return;
      }
      const delay = Math.min(settings.maxDelay, settings.initialDelay * 2 ** tries);
      tries++;
      const lost = opened;
      opened = undefined;
      void closeConnection(lost);
      waiting = scheduler.schedule(() => {
        waiting = undefined;
        settings.connect().then(
          (connection) => {
            if (subscriber.closed) {
              void closeConnection(connection);
              return;
            }
            opened = connection;
            start(connection);
          },
          (err: unknown) => retry(err),
        );
      }, delay);
    };
    start(first);
    return () => {
      current?.unsubscribe();
      waiting?.unsubscribe();
      const mine = opened;
      opened = undefined;
      void closeConnection(mine);
    };
  });
}
