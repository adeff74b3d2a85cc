/**
 * Errors that can be logged (internal to sluice/redis and sluice/amqp). A client's error carries what it
 * sent (ioredis keeps `command.args`: the password of a failed AUTH, the payload of a failed
 * script call); the error a caller gets keeps only its name, message and code.
 * @module
 */

/** The most characters of a caller's id or name quoted in an error message. */
const QUOTED = 60;

/**
 * A caller's value for an error message: JSON-quoted (so a newline cannot start a forged log
 * line) and cut to a bounded length.
 */
export function quoted(value: string): string {
  return JSON.stringify(value.length > QUOTED ? `${value.slice(0, QUOTED)}…` : value);
}

/** A copy of a client's error with only its name, message and code (never its arguments). */
export function quietCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(typeof error === 'string' ? error : 'unknown');
  const copy = new Error(error.message);
  Object.defineProperty(copy, 'name', { value: error.name, writable: true, configurable: true });
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') {
    Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  }
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}
