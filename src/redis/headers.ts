/**
 * How `RedisQueue` stores a message's headers: inside the stored payload field, ahead of the
 * serialized payload, so every script that moves a message (retries, dead letters, redrive)
 * carries them without knowing of them (machinery, not exported).
 *
 * A stored text that starts with U+0001 is `\u0001<JSON object of headers>\n<payload text>`;
 * any other is the payload text alone. A serializer's text that itself starts with U+0001 is
 * always wrapped (with `{}`), so reading back is never ambiguous.
 * @module
 */
import type { Headers } from '../internal/headers.js';

const MARK = '\u0001';

/** The text to store for a serialized payload and its headers. */
export function wrapHeaders(text: string, headers: Headers | undefined): string {
  if (headers === undefined && !text.startsWith(MARK)) return text;
  // JSON escapes every control character, so the first newline ends the headers
  return `${MARK}${JSON.stringify(headers ?? {})}\n${text}`;
}

/** The payload text and headers of a stored text; throws a TypeError for a malformed one. */
export function unwrapHeaders(stored: string): {
  readonly text: string;
  readonly headers: Headers | undefined;
} {
  if (!stored.startsWith(MARK)) return { text: stored, headers: undefined };
  const end = stored.indexOf('\n');
  if (end < 0) throw new TypeError('its headers have no end (no newline after them)');
  const parsed: unknown = JSON.parse(stored.slice(1, end));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TypeError('its headers are not a JSON object');
  }
  const names = Object.keys(parsed);
  for (const name of names) {
    if (typeof (parsed as Record<string, unknown>)[name] !== 'string') {
      throw new TypeError(`its header ${JSON.stringify(name)} is not a string`);
    }
  }
  // JSON.parse makes "__proto__" an own property, as enqueue kept it
  const headers = names.length === 0 ? undefined : Object.freeze(parsed as Headers);
  return { text: stored.slice(end + 1), headers };
}
