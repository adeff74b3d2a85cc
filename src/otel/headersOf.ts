/**
 * The headers a job carries, if it is an object with a `headers` field of string values: a
 * queue's `Delivery`, most broker messages (machinery of sluice/otel, not exported).
 * @module
 */
export function headersOf(job: unknown): Readonly<Record<string, string>> | undefined {
  if (job === null || typeof job !== 'object') return undefined;
  const headers = (job as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
  for (const value of Object.values(headers)) if (typeof value !== 'string') return undefined;
  return headers as Readonly<Record<string, string>>;
}
