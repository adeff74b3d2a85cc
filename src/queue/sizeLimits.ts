import { MessageTooLargeError } from './messageTooLargeError.js';

/** Default `maxPayloadBytes` of both stores: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;
/** Default `maxIdLength` of both stores, in UTF-16 code units (string length). */
export const DEFAULT_MAX_ID_LENGTH = 256;

/**
 * UTF-8 bytes of `text`, counted only as far as it matters against `max`: a string of more than
 * `max` code units is over (UTF-8 never takes fewer bytes than UTF-16 units), one of at most
 * `max / 3` is under (never more than 3 bytes per unit), and only between them are the bytes
 * counted. Returns the exact count, or a lower bound above `max`.
 */
export function utf8Bytes(text: string, max: number): number {
  const units = text.length;
  if (units > max || units * 3 <= max) return units;
  let bytes = 0;
  for (let i = 0; i < units; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < units) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

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
