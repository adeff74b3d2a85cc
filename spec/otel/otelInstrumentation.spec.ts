import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { config, lastValueFrom, of, Subject, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { atLeastOnce } from '../../src/operators/atLeastOnce.js';
import { workerPool } from '../../src/operators/workerPool.js';
import { otelInstrumentation, withTraceContext } from '../../src/otel/index.js';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import { deferred, recordingTracer, traceAcross, turn } from './otelHarness.js';

afterEach(() => {
  trace.disable();
  propagation.disable();
  config.onUnhandledError = null;
});

describe('otelInstrumentation: one span per job', () => {
  it('workerPool: a span per job with its outcome, worker and durations; ERROR for a failed one', async () => {
    const t = recordingTracer();
    const instrument = otelInstrumentation<number>({ tracer: t.tracer, destination: 'resize' });
    const work = async (n: number) => {
      if (n === 2) throw new Error('corrupt image');
      return n;
    };
    await lastValueFrom(
      of(1, 2, 3).pipe(workerPool(work, { concurrency: 1, instrument, onJobError: () => {} })),
    );
    expect(t.summary()).toEqual([
      ['process resize', 'done', SpanStatusCode.UNSET],
      ['process resize', 'failed', SpanStatusCode.ERROR],
      ['process resize', 'done', SpanStatusCode.UNSET],
    ]);
    const [first, failed] = t.spans();
    expect(first!.kind).toBe(SpanKind.CONSUMER);
    expect(first!.attributes).toMatchObject({
      'messaging.system': 'sluice',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'resize',
      'sluice.worker.id': 0,
      'sluice.job.outcome': 'done',
    });
    expect(typeof first!.attributes['sluice.job.waited_ms']).toBe('number');
    expect(typeof first!.attributes['sluice.job.ran_ms']).toBe('number');
    expect(first!.attributes).not.toHaveProperty('messaging.message.id');
    expect(failed!.status.message).toBe('job failed');
    expect(first!.parentSpanContext).toBeUndefined();
  });

  it('atLeastOnce: a span per job; one that runs out of attempts is failed', async () => {
    const t = recordingTracer();
    const instrument = otelInstrumentation<string>({ tracer: t.tracer });
    const deliver = (s: string) => {
      if (s === 'bad') throw new Error('refused');
      return of(s);
    };
    const out = await lastValueFrom(
      of('a', 'bad').pipe(
        atLeastOnce(deliver, { maxAttempts: 1, instrument, deadLetter: () => {} }),
        toArray(),
      ),
    );
    expect(out.map((ack) => ack.message)).toEqual(['a']);
    expect(t.summary()).toEqual([
      ['process', 'done', SpanStatusCode.UNSET],
      ['process', 'failed', SpanStatusCode.ERROR],
    ]);
    expect(t.spans()[0]!.attributes).not.toHaveProperty('sluice.worker.id');
  });

  it('a job still running at unsubscribe ends its span cancelled; a waiting one gets a dropped span', async () => {
    const t = recordingTracer();
    const instrument = otelInstrumentation<number>({ tracer: t.tracer });
    const gate = deferred();
    const jobs = new Subject<number>();
    const subscription = jobs
      .pipe(workerPool(() => gate.promise, { concurrency: 1, instrument }))
      .subscribe();
    jobs.next(1);
    jobs.next(2);
    expect(t.spans()).toEqual([]);
    subscription.unsubscribe();
    expect(t.summary().sort()).toEqual([
      ['process', 'cancelled', SpanStatusCode.UNSET],
      ['process', 'dropped', SpanStatusCode.ERROR],
    ]);
    gate.resolve();
  });

  it('equal primitive jobs running at once each get their own span', async () => {
    const t = recordingTracer();
    const instrument = otelInstrumentation<number>({ tracer: t.tracer });
    const gates = [deferred(), deferred()];
    let next = 0;
    const done = lastValueFrom(
      of(7, 7).pipe(workerPool(() => gates[next++]!.promise, { concurrency: 2, instrument })),
    );
    expect(instrument.contextOf(7)).not.toBe(ROOT_CONTEXT);
    gates[1]!.resolve();
    gates[0]!.resolve();
    await done;
    expect(t.spans()).toHaveLength(2);
    expect(new Set(t.spans().map((s) => s.spanContext().spanId)).size).toBe(2);
    expect(instrument.contextOf(7)).toBe(ROOT_CONTEXT);
  });

  it('a throwing headersOf or attributes callback is reported and the span is still made', async () => {
    const t = recordingTracer();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => unhandled.push(error);
    const instrument = otelInstrumentation<number>({
      tracer: t.tracer,
      headersOf: () => {
        throw new Error('no headers here');
      },
      attributes: () => {
        throw new Error('no attributes either');
      },
    });
    await lastValueFrom(of(1).pipe(workerPool(async (n: number) => n, { instrument })));
    expect(t.summary()).toEqual([['process', 'done', SpanStatusCode.UNSET]]);
    await turn();
    expect(unhandled.map((e) => (e as Error).message)).toEqual([
      'no headers here',
      'no attributes either',
    ]);
  });

  it('adds the attributes of its callback', async () => {
    const t = recordingTracer();
    const instrument = otelInstrumentation<number>({
      tracer: t.tracer,
      attributes: (n) => ({ 'shop.order': n }),
    });
    await lastValueFrom(of(5).pipe(workerPool(async (n: number) => n, { instrument })));
    expect(t.spans()[0]!.attributes['shop.order']).toBe(5);
  });

  it('records nothing, and carries nothing, when no OpenTelemetry SDK is registered', async () => {
    const t = recordingTracer(); // a provider that is never registered
    const instrument = otelInstrumentation<number>(); // the global tracer: a no-op
    await lastValueFrom(of(1, 2).pipe(workerPool(async (n: number) => n, { instrument })));
    const span = t.tracer.startSpan('producer');
    const options = withTraceContext({ id: 'a' }, { context: trace.setSpan(ROOT_CONTEXT, span) });
    expect(options).toEqual({ id: 'a' });
    span.end();
    expect(t.spans().map((s) => s.name)).toEqual(['producer']);
  });

  it('uses the global tracer and propagator once they are registered', async () => {
    const t = recordingTracer();
    trace.setGlobalTracerProvider(t.provider);
    propagation.setGlobalPropagator(t.propagator);
    const queue = new MessageQueue<string>();
    const producer = trace.getTracer('shop').startSpan('checkout');
    queue.enqueue('x', withTraceContext({}, { context: trace.setSpan(ROOT_CONTEXT, producer) }));
    producer.end();
    const instrument = otelInstrumentation<number>();
    await lastValueFrom(of(1).pipe(workerPool(async (n: number) => n, { instrument })));
    const [delivery] = await queue.receive();
    expect(delivery?.headers?.traceparent).toContain(producer.spanContext().traceId);
    expect(t.spans().map((s) => s.name)).toEqual(['checkout', 'process']);
    await queue.close();
  });

  it('refuses bad options, naming them', () => {
    expect(() => otelInstrumentation(42 as never)).toThrow(
      'otelInstrumentation: options must be an object, got 42',
    );
    expect(() => otelInstrumentation({ tracr: {} } as never)).toThrow(/tracr/);
    expect(() => otelInstrumentation({ tracer: {} as never })).toThrow(
      'otelInstrumentation: tracer must be an OpenTelemetry Tracer (an object with startSpan()), got an object (Object)',
    );
    expect(() => otelInstrumentation({ propagator: 'w3c' as never })).toThrow(
      /propagator must be an OpenTelemetry TextMapPropagator \(an object with extract\(\)\), got "w3c"/,
    );
    expect(() => otelInstrumentation({ destination: 3 as never })).toThrow(
      'otelInstrumentation: destination must be a string, got 3',
    );
    expect(() => otelInstrumentation({ headersOf: 'headers' as never })).toThrow(/headersOf/);
    expect(() => otelInstrumentation({ relation: 'parent' as never })).toThrow(
      /relation must be one of 'child', 'link', got "parent"/,
    );
  });
});

describe('withTraceContext', () => {
  it('adds the context to a copy of the options, keeping the other headers', () => {
    const t = recordingTracer();
    const span = t.tracer.startSpan('checkout');
    const given = { id: 'a', delay: 5, headers: { tenant: 'acme', traceparent: 'stale' } };
    const options = withTraceContext(given, {
      context: trace.setSpan(ROOT_CONTEXT, span),
      propagator: t.propagator,
    });
    const { traceId, spanId } = span.spanContext();
    expect(options).toEqual({
      id: 'a',
      delay: 5,
      headers: { tenant: 'acme', traceparent: `00-${traceId}-${spanId}-01` },
    });
    expect(given.headers.traceparent).toBe('stale');
  });

  it('carries the active context by default', () => {
    const t = recordingTracer();
    const span = t.tracer.startSpan('checkout');
    // no context manager is registered: context.with has no effect, the active one is ROOT
    const options = context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
      withTraceContext(undefined, { propagator: t.propagator }),
    );
    expect(options).toEqual({});
  });

  it('refuses bad arguments, naming them', () => {
    expect(() => withTraceContext('id' as never)).toThrow(
      'withTraceContext: options must be an object, got "id"',
    );
    expect(() => withTraceContext({}, { contxt: ROOT_CONTEXT } as never)).toThrow(/contxt/);
    expect(() => withTraceContext({}, { context: {} as never })).toThrow(
      'withTraceContext: context must be an OpenTelemetry Context, got an object (Object)',
    );
    expect(() => withTraceContext({}, { propagator: {} as never })).toThrow(
      /propagator must be an OpenTelemetry TextMapPropagator \(an object with inject\(\)\)/,
    );
  });
});

describe('a trace across MessageQueue', () => {
  it('the consumer span is a child of the producer span, and the handler work a child of it', async () => {
    const queue = new MessageQueue<string>();
    const { options, tenant, producer, consumer, work } = await traceAcross(queue);
    await queue.close();
    expect(options.headers?.tenant).toBe('acme');
    expect(tenant).toBe('acme');
    expect(consumer.spanContext().traceId).toBe(producer.traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanId);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.attributes).toMatchObject({
      'messaging.message.id': 'order-7',
      'messaging.destination.name': 'orders',
      'sluice.delivery.attempt': 1,
      'sluice.job.outcome': 'done',
    });
    expect(work.parentSpanContext?.spanId).toBe(consumer.spanContext().spanId);
    expect(work.spanContext().traceId).toBe(producer.traceId);
  });

  it("relation 'link': the consumer starts its own trace, linked to the producer's span", async () => {
    const t = recordingTracer();
    const queue = new MessageQueue<string>();
    const producer = t.tracer.startSpan('checkout');
    queue.enqueue(
      'x',
      withTraceContext(
        {},
        { context: trace.setSpan(ROOT_CONTEXT, producer), propagator: t.propagator },
      ),
    );
    const instrument = otelInstrumentation<{ headers?: Record<string, string> }>({
      tracer: t.tracer,
      propagator: t.propagator,
      relation: 'link',
    });
    const deliveries = await queue.receive();
    await lastValueFrom(of(...deliveries).pipe(workerPool(async () => {}, { instrument })));
    const [consumer] = t.spans();
    expect(consumer!.parentSpanContext).toBeUndefined();
    expect(consumer!.spanContext().traceId).not.toBe(producer.spanContext().traceId);
    expect(consumer!.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    await queue.close();
  });
});
