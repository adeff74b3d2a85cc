/**
 * Sizes both queue stores limit, with nothing but arithmetic: shared by the core and
 * sluice/redis (which bundles a copy, so it must hold no class or state).
 * @module
 */
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
