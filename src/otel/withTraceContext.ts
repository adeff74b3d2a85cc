import { type Context, context, propagation, type TextMapPropagator } from '@opentelemetry/api';
import { checkOptions, describe } from '../internal/validate.js';

const WHERE = 'withTraceContext';

/** What {@link withTraceContext} extends: any options with `headers` (`EnqueueOptions`, `AmqpSendOptions`). */
export interface HeaderOptions {
  /** Headers of the message, to which the trace context is added. */
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** Options of {@link withTraceContext}. */
export interface TraceContextOptions {
  /** The context to carry. @default the active one (`context.active()`) */
  readonly context?: Context;
  /**
   * Writes the context into headers. @default the global propagator (`propagation` of
   * `@opentelemetry/api`: W3C `traceparent` and `tracestate` once the SDK registers it)
   */
  readonly propagator?: TextMapPropagator;
}

/**
 * Enqueue options that carry the current trace context in their `headers`, so the consumer's
 * span (made by {@link otelInstrumentation}) continues the producer's trace across the queue.
 * Works with every store (`MessageQueue`, `RedisQueue`: anything that takes `EnqueueOptions`)
 * and with `AmqpPublisher.send`, whose messages carry AMQP headers.
 *
 * The options given are copied, never changed; headers already there are kept, except those
 * the propagator writes (`traceparent`, `tracestate` for W3C). With no propagator registered
 * (no OpenTelemetry SDK) or no span in the context, nothing is added and the options come back
 * as a copy.
 *
 * **Backpressure.** None: it only builds options.
 *
 * **Errors.** Throws a TypeError for options that are not an object, a `context` that is not
 * one, or a `propagator` without `inject`. A propagator that throws is not caught.
 *
 * **Cancellation.** Nothing to cancel.
 *
 * @param options The enqueue options to extend (`id`, `delay`, `headers`, ...).
 * @param config `context` to carry instead of the active one; `propagator` instead of the global one.
 * @returns A copy of `options` whose `headers` carry the trace context.
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
 * import { W3CTraceContextPropagator } from '@opentelemetry/core';
 * import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
 * import { MessageQueue } from 'sluice';
 * import { withTraceContext } from 'sluice/otel';
 *
 * const span = new BasicTracerProvider().getTracer('shop').startSpan('checkout');
 * const queue = new MessageQueue<string>();
 * queue.enqueue('order 7', withTraceContext({ id: 'order-7' }, {
 *   context: trace.setSpan(ROOT_CONTEXT, span), // default: the active context
 *   propagator: new W3CTraceContextPropagator(), // default: the registered one
 * }));
 * const [delivery] = await queue.receive();
 * assert.equal(delivery?.headers?.traceparent?.split('-')[1], span.spanContext().traceId);
 * await queue.close();
 * ```
 */
export function withTraceContext<O extends object & HeaderOptions>(
  options?: O,
  config?: TraceContextOptions,
): O {
  const given = checkOptions<HeaderOptions>(WHERE, options) as O;
  const opts = checkOptions<TraceContextOptions>(`${WHERE} config`, config, [
    'context',
    'propagator',
  ]);
  const active = opts.context ?? context.active();
  if (typeof active !== 'object' || active === null || typeof active.getValue !== 'function') {
    throw new TypeError(
      `${WHERE}: context must be an OpenTelemetry Context, got ${describe(active)}`,
    );
  }
  const propagator = opts.propagator;
  if (
    propagator !== undefined &&
    (propagator === null ||
      typeof propagator !== 'object' ||
      typeof propagator.inject !== 'function')
  ) {
    throw new TypeError(
      `${WHERE}: propagator must be an OpenTelemetry TextMapPropagator (an object with inject()), got ${describe(propagator)}`,
    );
  }
  const carrier: Record<string, string> = {};
  (propagator ?? propagation).inject(active, carrier, {
    set: (target, key, value) => {
      target[key] = value;
    },
  });
  if (Object.keys(carrier).length === 0) return { ...given };
  return { ...given, headers: { ...given.headers, ...carrier } };
}
