/**
 * Message headers, checked the same way by both queue stores: shared by the core and
 * sluice/redis (which bundles a copy, so it holds no class or state).
 * @module
 */
import { utf8Bytes } from './sizes.js';
import { describe } from './validate.js';

/** Headers as a queue keeps them: string names to string values, frozen. */
export type Headers = Readonly<Record<string, string>>;

/** The most UTF-8 bytes of header names and values together that one message may carry. */
export const MAX_HEADER_BYTES = 16_384;

/**
 * The `headers` option of an enqueue, checked and copied (a later change to the caller's object
 * is not seen): `undefined` when absent or empty. Refuses a value that is not a plain object, a
 * value that is not a string, an empty name, and more than `MAX_HEADER_BYTES` in all.
 */
export function checkHeaders(where: string, value: unknown): Headers | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `${where}: headers must be an object of string names to string values, got ${describe(value)}`,
    );
  }
  let bytes = 0;
  let copy: Record<string, string> | undefined;
  for (const name of Object.keys(value)) {
    const text = (value as Record<string, unknown>)[name];
    if (name === '') {
      throw new TypeError(`${where}: header names must be non-empty strings, got ""`);
    }
    if (typeof text !== 'string') {
      throw new TypeError(
        `${where}: headers[${JSON.stringify(name)}] must be a string, got ${describe(text)}`,
      );
    }
    bytes += utf8Bytes(name, MAX_HEADER_BYTES + 1) + utf8Bytes(text, MAX_HEADER_BYTES + 1);
    if (bytes > MAX_HEADER_BYTES) {
      throw new RangeError(
        `${where}: headers must total at most ${MAX_HEADER_BYTES} bytes (UTF-8 names and values), got at least ${bytes}`,
      );
    }
    copy ??= {};
    // defineProperty: a header named "__proto__" is kept as a header, never as a prototype
    Object.defineProperty(copy, name, { value: text, enumerable: true });
  }
  return copy === undefined ? undefined : Object.freeze(copy);
}
