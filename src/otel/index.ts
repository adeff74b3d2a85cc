/**
 * `sluice/otel`: OpenTelemetry tracing for sluice's pools and queues. A separate entry point
 * over `@opentelemetry/api` (an optional peer dependency of sluice), so the core never loads
 * it: spans per job or delivery (`otelInstrumentation`, given as an operator's `instrument`),
 * and trace context carried in a queued message's headers (`withTraceContext`), so a trace
 * crosses the queue on every store.
 * @module
 */
export type { OtelInstrumentation, OtelInstrumentationOptions } from './otelInstrumentation.js';
export { otelInstrumentation } from './otelInstrumentation.js';
export type { HeaderOptions, TraceContextOptions } from './withTraceContext.js';
export { withTraceContext } from './withTraceContext.js';
