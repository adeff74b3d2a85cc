/**
 * Random parts for `RedisQueue` receipts (internal to `sluice/redis`).
 * @module
 */
import { randomBytes } from 'node:crypto';

/** Characters of one nonce: 16 base64url characters carry 96 random bits. */
export const NONCE_LENGTH = 16;
/** Nonces drawn from one `randomBytes` call. */
const POOL = 1_024;

/**
 * Hands out 96-bit nonces from a pool filled by one `randomBytes` call per 1,024 nonces, so a
 * receive of 16 deliveries costs a substring, not 16 calls into `node:crypto`. Each nonce is
 * handed out once.
 */
export class NoncePool {
  private pool = '';
  private at = 0;

  /** `count` nonces, concatenated (`count * 16` characters). */
  take(count: number): string {
    const length = count * NONCE_LENGTH;
    if (this.at + length > this.pool.length) {
      this.pool = randomBytes((Math.max(POOL, count) * NONCE_LENGTH * 3) / 4).toString('base64url');
      this.at = 0;
    }
    const out = this.pool.slice(this.at, this.at + length);
    this.at += length;
    return out;
  }
}
