import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { lastValueFrom, take } from 'rxjs';
import { workerPool } from 'sluice';
import { type AmqpDelivery, AmqpPublisher, amqpReceiver } from 'sluice/amqp';
import { otelInstrumentation, withTraceContext } from 'sluice/otel';
import { expect, it } from 'vitest';
import { describeAmqp, useAmqp } from '../amqp/amqpServer.js';
import { recordingTracer } from './otelHarness.js';

describeAmqp('a trace across RabbitMQ', () => {
  const amqp = useAmqp();

  it('AMQP headers carry the context: the span of a delivery is a child of the publisher span', async () => {
    const t = recordingTracer();
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const publisher = new AmqpPublisher<string>({ connection, exchange: '', routingKey: queue });
    const producer = t.tracer.startSpan('publish');
    await publisher.send(
      'order 7',
      withTraceContext(
        { headers: { tenant: 'acme', retries: 3 } },
        { context: trace.setSpan(ROOT_CONTEXT, producer), propagator: t.propagator },
      ),
    );
    producer.end();
    await publisher.close();
    const instrument = otelInstrumentation<AmqpDelivery<string>>({
      tracer: t.tracer,
      propagator: t.propagator,
      destination: queue,
    });
    await lastValueFrom(
      amqpReceiver<string>({ connection, queue }).pipe(
        take(1),
        workerPool(async (delivery) => delivery.ack(), { instrument }),
      ),
    );
    const consumer = t.spans().find((s) => s.name === `process ${queue}`)!;
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.attributes['sluice.job.outcome']).toBe('done');
  });
});
