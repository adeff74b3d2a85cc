/**
 * The random part of in-memory receipts (internal).
 *
 * A secret is 16 characters of a 64-letter alphabet: 96 bits from the platform's
 * cryptographic source (`globalThis.crypto.getRandomValues`, in Node and in browsers). They are
 * made in bulk: one call fills the bytes of 1024 secrets, `btoa` turns them into one base64
 * string, and each secret is a slice of it (V8 shares the characters instead of
 * copying them), so a delivery pays for a slice, not for random numbers or number formatting.
 */

/** Characters per secret: 16 base64 characters of 6 bits, 96 bits. */
export const SECRET_LENGTH = 16;
/** Random bytes per `btoa` call: 4096 characters, 256 secrets. */
const CHUNK = 3072;
/** Random bytes per refill: 1024 secrets per call to the random source. */
const bytes = new Uint8Array(4 * CHUNK);
let batch = '';
let next = 0;

function refill(): void {
  globalThis.crypto.getRandomValues(bytes);
  let text = '';
  for (let at = 0; at < bytes.length; at += CHUNK) {
    // bytes as Latin-1 characters (3072 arguments: far below every engine's limit), then the
    // platform's own base64 encoder, which beats any per-character loop in JavaScript
    const latin1 = String.fromCharCode.apply(
      null,
      bytes.subarray(at, at + CHUNK) as unknown as number[],
    );
    text += globalThis.btoa(latin1);
  }
  batch = text;
  next = 0;
}

/** A fresh 96-bit random string (16 characters of `[A-Za-z0-9+/]`). */
export function receiptSecret(): string {
  if (next === batch.length) refill();
  const start = next;
  next += SECRET_LENGTH;
  return batch.slice(start, next);
}

/** A random name of `length` characters (6 bits each), for telling queues apart. */
export function randomName(length: number): string {
  let name = '';
  while (name.length < length) name += receiptSecret();
  return name.slice(0, length);
}
