/**
 * The errors the in-memory queue engine throws when it cannot take a message.
 * @module
 */
import { ChannelClosedError, ChannelFullError } from '../../errors.js';

/** Builds the queue engine's errors; each carries the payload that was refused. */
export const queueErrors = {
  /** The queue is closed: nothing more is accepted. */
  closed<T>(payload: T): ChannelClosedError<T> {
    return new ChannelClosedError('MessageQueue: queue is closed', payload);
  },
  /** The queue holds `capacity` messages; `detail` says why no room could be made. */
  full<T>(capacity: number, payload: T, detail: string): ChannelFullError<T> {
    return new ChannelFullError(
      `MessageQueue: queue is full (capacity ${capacity})${detail}`,
      payload,
    );
  },
};
