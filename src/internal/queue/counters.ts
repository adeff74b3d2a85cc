/**
 * The queue's counters since it was created (the counting half of `stats()`).
 * @module
 */
export class QueueCounters {
  /** Messages accepted by `enqueue`/`send`. */
  enqueued = 0;
  /** Enqueues refused as duplicates. */
  duplicates = 0;
  /** Messages discarded by the `'drop'` or `'replace'` overflow policy. */
  dropped = 0;
  /** Deliveries handed out. */
  delivered = 0;
  acked = 0;
  nacked = 0;
  /** Leases that ran out. */
  expired = 0;
  /** Leases given back without counting an attempt. */
  released = 0;
  deadLettered = 0;
  redriven = 0;

  /** A copy, for a stats snapshot. */
  snapshot() {
    return {
      enqueued: this.enqueued,
      duplicates: this.duplicates,
      dropped: this.dropped,
      delivered: this.delivered,
      acked: this.acked,
      nacked: this.nacked,
      expired: this.expired,
      released: this.released,
      deadLettered: this.deadLettered,
      redriven: this.redriven,
    };
  }
}
