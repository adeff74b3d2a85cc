import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Instrumentation, JobEnd, JobStart } from 'sluice';
import { reportUnhandledError } from '../internal/reportUnhandledError.js';
import { checkFunction, checkOneOf, checkOptions, describe } from '../internal/validate.js';
import { headersOf as defaultHeadersOf } from './headersOf.js';

const WHERE = 'otelInstrumentation';

/** Options of {@link otelInstrumentation}. */
export interface OtelInstrumentationOptions<T> {
  /**
   * The tracer spans are made with. @default `trace.getTracer('sluice')` from the global
   * tracer provider: no span is recorded until an OpenTelemetry SDK registers one.
   */
  readonly tracer?: Tracer;
  /**
   * What the jobs come from (a queue's name, a pool's purpose): the spans are named
   * `process <destination>` and carry it as `messaging.destination.name`. @default none: `process`
   */
  readonly destination?: string;
  /**
   * Reads the trace context a job carries from its headers. @default the global propagator
   * (`propagation` of `@opentelemetry/api`: W3C `traceparent` once the SDK registers it)
   */
  readonly propagator?: TextMapPropagator;
  /**
   * The headers of a job, where its producer's trace context was injected (only string values
   * are read). @default a job's own `headers` field (a queue's `Delivery` and an `AmqpDelivery`
   * have one)
   */
  readonly headersOf?: (job: T) => Readonly<Record<string, unknown>> | undefined;
  /**
   * How a job's span relates to the trace context it carries: `'child'` continues the
   * producer's trace (one trace across the queue), `'link'` starts a trace of its own that
   * links to the producer's (for jobs handled long after, or in batches). @default 'child'
   */
  readonly relation?: 'child' | 'link';
  /** More attributes for a job's span, read when it starts. */
  readonly attributes?: (job: T) => Attributes;
}

/** An {@link Instrumentation} that makes spans, with the context of each running job. */
export interface OtelInstrumentation<T> extends Instrumentation<T> {
  /**
   * The context whose active span is the running job's span, to make it the parent of the
   * work's own spans (`context.with(tracing.contextOf(job), () => …)`); `ROOT_CONTEXT` when the
   * job is not running (not started yet, or already ended).
   */
  contextOf(job: T): Context;
}

/** The outcomes a span reports as an error. */
const FAILED: ReadonlySet<JobEnd<unknown>['outcome']> = new Set(['failed', 'lost', 'dropped']);

/**
 * An `instrument` for `workerPool`, `atLeastOnce` and `consumeQueue` (and so `queue.consume`)
 * that makes one OpenTelemetry span per job: started when a worker takes the job, ended with
 * its outcome. A job that carries trace context in its headers (a queue delivery whose message
 * was enqueued with {@link withTraceContext}) gets a span that is a child of (or links to) the
 * producer's span, so one trace runs from the enqueue, through the queue, to the handler, on
 * any store.
 *
 * Span: kind `CONSUMER`, named `process <destination>`, with `messaging.system` = `sluice`,
 * `messaging.operation.type` = `process`, `messaging.destination.name`, and for a queue
 * delivery `messaging.message.id` and `sluice.delivery.attempt`; `sluice.worker.id` when the
 * operator has workers; `sluice.job.waited_ms` (time waiting in the operator), and at the end
 * `sluice.job.outcome` and `sluice.job.ran_ms`. The status is `ERROR` for a job that failed,
 * lost its lease, or was dropped (a dropped job, which never ran, gets a span of no length).
 *
 * **Backpressure.** None: spans are made as jobs start and end; the operator never waits.
 *
 * **Errors.** Bad options throw a TypeError naming them. At run time a throwing `headersOf` or
 * `attributes` callback, like any hook, is reported as an unhandled error and never disturbs
 * the jobs; the span is still made.
 *
 * **Cancellation.** A job still running when the operator's subscription ends ends its span
 * with outcome `cancelled`; one still waiting gets a `dropped` span. No span is left open.
 *
 * Jobs are told apart by identity: equal primitive jobs running at once share their spans in
 * first-in first-out order. Queue deliveries are distinct objects.
 *
 * @param options `tracer`, `destination`, `propagator`, `headersOf`, `relation`, `attributes`.
 * @returns An `Instrumentation` with `contextOf(job)`.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
 * import { lastValueFrom, of } from 'rxjs';
 * import { workerPool } from 'sluice';
 * import { otelInstrumentation } from 'sluice/otel';
 *
 * const exporter = new InMemorySpanExporter();
 * const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
 * const instrument = otelInstrumentation<number>({ tracer: provider.getTracer('shop'), destination: 'resize' });
 * const work = async (n: number) => {
 *   if (n === 2) throw new Error('corrupt image');
 *   return n;
 * };
 * await lastValueFrom(of(1, 2).pipe(workerPool(work, { instrument, onJobError: () => {} })));
 * const spans = exporter.getFinishedSpans();
 * assert.deepEqual(spans.map((s) => [s.name, s.attributes['sluice.job.outcome'], s.status.code]), [
 *   ['process resize', 'done', 0],
 *   ['process resize', 'failed', 2],
 * ]);
 * ```
 */
export function otelInstrumentation<T>(
  options?: OtelInstrumentationOptions<T>,
): OtelInstrumentation<T> {
  const opts = checkOptions<OtelInstrumentationOptions<T>>(WHERE, options, [
    'tracer',
    'destination',
    'propagator',
    'headersOf',
    'relation',
    'attributes',
  ]);
  const tracer =
    checkObject<Tracer>('tracer', opts.tracer, 'startSpan') ?? trace.getTracer('sluice');
  const propagator = checkObject<TextMapPropagator>('propagator', opts.propagator, 'extract');
  const destination = opts.destination;
  if (destination !== undefined && typeof destination !== 'string') {
    throw new TypeError(`${WHERE}: destination must be a string, got ${describe(destination)}`);
  }
  const headersOf =
    checkFunction<(job: T) => Readonly<Record<string, unknown>> | undefined>(
      WHERE,
      'headersOf',
      opts.headersOf,
      true,
    ) ?? defaultHeadersOf;
  const extraAttributes = checkFunction<(job: T) => Attributes>(
    WHERE,
    'attributes',
    opts.attributes,
    true,
  );
  const link =
    checkOneOf(WHERE, 'relation', opts.relation ?? 'child', ['child', 'link'] as const) === 'link';
  const name = destination === undefined ? 'process' : `process ${destination}`;
  const running = new Map<T, Span[]>();

  /** A new span for `job`, under (or linked to) the trace context its headers carry. */
  function open(job: T, attributes: Attributes): Span {
    const carried = guarded(() => {
      const headers = headersOf(job);
      if (headers === undefined) return undefined;
      return (propagator ?? propagation).extract(ROOT_CONTEXT, headers, headerGetter);
    });
    const producer = carried === undefined ? undefined : trace.getSpanContext(carried);
    const extra = extraAttributes === undefined ? undefined : guarded(() => extraAttributes(job));
    const spanOptions: SpanOptions = {
      kind: SpanKind.CONSUMER,
      attributes: { ...baseAttributes(job, destination), ...attributes, ...extra },
    };
    if (producer === undefined) return tracer.startSpan(name, spanOptions, context.active());
    if (link)
      return tracer.startSpan(
        name,
        { ...spanOptions, links: [{ context: producer }] },
        ROOT_CONTEXT,
      );
    return tracer.startSpan(name, spanOptions, carried);
  }

  function close(span: Span, event: JobEnd<T>): void {
    span.setAttributes({
      'sluice.job.outcome': event.outcome,
      'sluice.job.waited_ms': event.waitedMs,
      'sluice.job.ran_ms': event.ranMs,
    });
    if (FAILED.has(event.outcome)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `job ${event.outcome}` });
    }
    span.end();
  }

  return {
    onStart(event: JobStart<T>): void {
      const attributes: Attributes = { 'sluice.job.waited_ms': event.waitedMs };
      if (event.workerId !== undefined) attributes['sluice.worker.id'] = event.workerId;
      const span = open(event.job, attributes);
      const spans = running.get(event.job);
      if (spans === undefined) running.set(event.job, [span]);
      else spans.push(span);
    },
    onEnd(event: JobEnd<T>): void {
      const spans = running.get(event.job);
      const span = spans?.shift();
      if (spans !== undefined && spans.length === 0) running.delete(event.job);
      close(span ?? open(event.job, {}), event);
    },
    contextOf(job: T): Context {
      const span = running.get(job)?.[0];
      return span === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, span);
    },
  };
}

/** What `read` returns, or undefined if it throws (reported, as a throwing hook is). */
function guarded<R>(read: () => R): R | undefined {
  try {
    return read();
  } catch (error) {
    reportUnhandledError(error);
    return undefined;
  }
}

/** Reads header values for a propagator. */
const headerGetter = {
  keys: (carrier: Readonly<Record<string, unknown>>): string[] => Object.keys(carrier),
  get: (carrier: Readonly<Record<string, unknown>>, key: string): string | undefined => {
    const value = Object.hasOwn(carrier, key) ? carrier[key] : undefined;
    return typeof value === 'string' ? value : undefined;
  },
};

/** The attributes every span of a job has. */
function baseAttributes(job: unknown, destination: string | undefined): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'sluice',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
  };
  if (destination !== undefined) attributes['messaging.destination.name'] = destination;
  if (job !== null && typeof job === 'object') {
    const { id, attempt, receipt } = job as { id?: unknown; attempt?: unknown; receipt?: unknown };
    if (typeof id === 'string' && typeof receipt === 'string') {
      attributes['messaging.message.id'] = id;
      if (typeof attempt === 'number') attributes['sluice.delivery.attempt'] = attempt;
    }
  }
  return attributes;
}

/** An optional object with method `method`, refused by name otherwise. */
function checkObject<O>(name: string, value: unknown, method: string): O | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as Record<string, unknown>)[method] !== 'function'
  ) {
    throw new TypeError(
      `${WHERE}: ${name} must be an OpenTelemetry ${name === 'tracer' ? 'Tracer' : 'TextMapPropagator'} (an object with ${method}()), got ${describe(value)}`,
    );
  }
  return value as O;
}
