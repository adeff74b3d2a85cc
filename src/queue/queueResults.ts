/**
 * The frozen results the in-memory queue answers with (internal to the queue folder).
 * @module
 */
import type { AckResult, NackResult, ReceiptRejection } from './types.js';

export const ACK_OK: AckResult = Object.freeze({ ok: true });
export const NACK_OK: NackResult = Object.freeze({ ok: true, deadLettered: false });
export const NACK_DEAD: NackResult = Object.freeze({ ok: true, deadLettered: true });
export const REJECTED: Readonly<Record<ReceiptRejection, { ok: false; reason: ReceiptRejection }>> =
  {
    stale: Object.freeze({ ok: false, reason: 'stale' }),
    expired: Object.freeze({ ok: false, reason: 'expired' }),
    released: Object.freeze({ ok: false, reason: 'released' }),
    acked: Object.freeze({ ok: false, reason: 'acked' }),
    unknown: Object.freeze({ ok: false, reason: 'unknown' }),
  };
