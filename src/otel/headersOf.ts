/**
 * The headers a job carries, if it is an object with a `headers` object: a queue's `Delivery`,
 * an `AmqpDelivery`, most broker messages (machinery of sluice/otel, not exported). Only their
 * string values are read.
 * @module
 */
export function headersOf(job: unknown): Readonly<Record<string, unknown>> | undefined {
  if (job === null || typeof job !== 'object') return undefined;
  const headers = (job as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
  return headers as Readonly<Record<string, unknown>>;
}
