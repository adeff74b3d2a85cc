import { utf8Bytes } from '../internal/sizes.js';
import { MessageTooLargeError } from './messageTooLargeError.js';

export { DEFAULT_MAX_ID_LENGTH, DEFAULT_MAX_PAYLOAD_BYTES, utf8Bytes } from '../internal/sizes.js';

/**
 * The size of an in-memory payload that can be measured without copying it: a string (UTF-8
 * bytes), an `ArrayBuffer` or a view of one (`byteLength`), a `Blob` (`size`). Anything else
 * (numbers, objects) is kept by reference and counts as 0: `capacity` bounds how many there are.
 */
export function payloadBytes(payload: unknown, max: number): number {
  if (typeof payload === 'string') return utf8Bytes(payload, max);
  if (payload === null || typeof payload !== 'object') return 0;
  if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload)) return payload.byteLength;
  if (typeof Blob !== 'undefined' && payload instanceof Blob) return payload.size;
  return 0;
}

/** Refuses an id longer than `max` (the error names the limit, never the id). */
export function checkIdLength(where: string, id: string, max: number): void {
  if (id.length > max) throw new MessageTooLargeError(where, 'maxIdLength', id.length, max);
}

/** Refuses a payload of more than `max` bytes (`size` from `payloadBytes` or `utf8Bytes`). */
export function checkPayloadSize(where: string, size: number, max: number): void {
  if (size > max) throw new MessageTooLargeError(where, 'maxPayloadBytes', size, max);
}
