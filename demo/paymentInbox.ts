/**
 * Where the demo's payment requests wait for the payment service: the store of its queue
 * stage. In memory (a sluice `MessageQueue`, the default) or on RabbitMQ (`amqpInbox.ts`,
 * `--amqp`); the pipeline sees only this interface.
 */
import { filter, map, type Observable } from 'rxjs';
import { MessageQueue } from '../src/index.js';

/** The payment service's inbox. */
export interface PaymentInbox<C> {
  /** Where it lives, for the header: `'memory'` or the RabbitMQ queue's name. */
  readonly where: string;
  /** Queues a request; false when the inbox refuses it (overloaded). */
  enqueue(charge: C): boolean;
  /** The requests, each acknowledged as it is taken; completes once `drain` is aborted and it drained. */
  consume(drain: AbortSignal): Observable<C>;
  /** Counts for the live view. */
  stats(): { readonly visible: number; readonly inFlight: number; readonly delayed: number };
  /** Releases it (and deletes what it declared on a broker). */
  close(): Promise<void>;
}

/** The in-memory inbox: a bounded `MessageQueue` with leases. */
export function memoryInbox<C>(options: {
  readonly capacity: number;
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
}): PaymentInbox<C> {
  const queue = new MessageQueue<C>(options);
  return {
    where: 'memory',
    enqueue: (charge) => queue.enqueue(charge).ok,
    consume: (drain) =>
      queue
        .consume(() => undefined, { concurrency: 64, drain })
        .pipe(
          filter((outcome) => outcome.status === 'acked'),
          map((outcome) => outcome.message.payload),
        ),
    stats: () => queue.stats(),
    close: async () => {
      await queue.close();
    },
  };
}
