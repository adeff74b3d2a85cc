/**
 * A tracer that records into memory, and the W3C propagator, for the sluice/otel specs: nothing
 * is registered globally unless a test does it itself (and undoes it).
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { otelInstrumentation, withTraceContext } from '../../src/otel/index.js';
import { consumeQueue } from '../../src/queue/consume.js';
import type { QueueStore } from '../../src/queue/store.js';
import type { Delivery } from '../../src/queue/types.js';

export function recordingTracer() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return {
    provider,
    tracer: provider.getTracer('spec'),
    propagator: new W3CTraceContextPropagator(),
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    /** The finished spans by name, as [name, outcome attribute, status code]. */
    summary: () =>
      exporter
        .getFinishedSpans()
        .map((s) => [s.name, s.attributes['sluice.job.outcome'], s.status.code] as const),
  };
}

/** A promise to settle from the test. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets promise callbacks and I/O run, without a real-time sleep. */
export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits, turn by turn, until `check` holds; fails naming `what` if it never does. */
export async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (check()) return;
    await turn();
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * The trace-across-the-queue scenario on any store: a producer span enqueues with
 * `withTraceContext`, `consumeQueue` with `otelInstrumentation` handles the delivery, and the
 * handler's own span is made under `contextOf(delivery)`. Returns the spans to check.
 */
export async function traceAcross(store: QueueStore<string>) {
  const t = recordingTracer();
  const producer = t.tracer.startSpan('checkout', { kind: SpanKind.PRODUCER });
  const options = withTraceContext(
    { id: 'order-7', headers: { tenant: 'acme' } },
    { context: trace.setSpan(ROOT_CONTEXT, producer), propagator: t.propagator },
  );
  await store.enqueue('order 7', options);
  producer.end();
  const instrument = otelInstrumentation<Delivery<string>>({
    tracer: t.tracer,
    propagator: t.propagator,
    destination: 'orders',
  });
  let tenant: string | undefined;
  const subscription = consumeQueue(
    store,
    async (delivery) => {
      tenant = delivery.headers?.tenant;
      t.tracer.startSpan('charge card', {}, instrument.contextOf(delivery)).end();
    },
    { instrument },
  ).subscribe();
  try {
    await eventually(() => t.spans().length === 3, 'three finished spans');
  } finally {
    subscription.unsubscribe();
  }
  const byName = (name: string) => t.spans().find((s) => s.name === name)!;
  return {
    options,
    tenant,
    producer: producer.spanContext(),
    consumer: byName('process orders'),
    work: byName('charge card'),
  };
}
