/**
 * consumeAmqp names why a running handler is stopped when its consumer is unsubscribed: with a
 * `timeout` (its handlers then get a signal of their own) the same `UnsubscribedError` as the
 * core's consume, and the message goes back to the queue.
 */
import { NEVER } from 'rxjs';
import { UnsubscribedError } from 'sluice';
import { AmqpPublisher, amqpReceiver, amqpTopology, consumeAmqp } from 'sluice/amqp';
import { expect, it } from 'vitest';
import { describeAmqp, useAmqp, waitFor } from './amqpServer.js';

describeAmqp('consumeAmqp unsubscribed', () => {
  const amqp = useAmqp();

  it('aborts a running handler (with a timeout) with UnsubscribedError and requeues', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q') });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    const publisher = new AmqpPublisher<string>({ connection, ...topology.publishTo });
    await publisher.send('job');
    await publisher.close();

    let started = false;
    let reason: unknown;
    const subscription = consumeAmqp<string>(
      { connection, queue: topology.queue },
      (_message, { signal }) => {
        started = true;
        signal.addEventListener('abort', () => (reason = signal.reason));
        return NEVER;
      },
      { timeout: 600_000 },
    ).subscribe();
    await waitFor(() => started);
    subscription.unsubscribe();
    expect(reason).toBeInstanceOf(UnsubscribedError);
    expect(reason).toMatchObject({ name: 'UnsubscribedError', where: 'consumeAmqp' });

    // the message is back in the queue for the next consumer
    const again: string[] = [];
    const next = amqpReceiver<string>({ connection, queue: topology.queue }).subscribe((d) => {
      again.push(d.payload);
      d.ack();
    });
    await waitFor(() => again.length === 1);
    next.unsubscribe();
    expect(again).toEqual(['job']);
  });
});
