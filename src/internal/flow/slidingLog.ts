/**
 * The release log of a sliding-window rate limit: the time and cost of every release still
 * inside the longest window, oldest first, with the running total of costs beside each entry.
 *
 * Every window is checked exactly, not in fixed buckets: a release at time `t` counts in the
 * window of `length` ms ending at `now` while `t + length > now`, and leaves it at `t + length`
 * (written as a sum, never as `now - length`, so that the time `earliest` answers is exactly
 * the time the entry is out, also for fractional lengths). With cumulative totals, the cost inside any
 * window and the earliest time a new release fits are two binary searches, so a check is
 * O(log n) whatever the limit, and nothing is scanned.
 */
export class SlidingLog {
  private times = new Float64Array(16);
  /** Running total of costs up to and including each entry. */
  private totals = new Float64Array(16);
  private head = 0;
  private count = 0;
  /** Running total before the oldest entry kept. */
  private base = 0;

  /** Entries kept (releases with a cost above 0 within the horizon). */
  get size(): number {
    return this.count;
  }

  /** Cost released in total, ever (the running total after the newest entry). */
  get total(): number {
    return this.count === 0 ? this.base : this.totalAt(this.count - 1);
  }

  /**
   * Records a release of `cost` (> 0) at `now` (never earlier than the last one recorded).
   * Releases at the same instant share one entry: they leave every window together.
   */
  record(now: number, cost: number): void {
    const total = this.total + cost;
    if (this.count > 0) {
      const last = (this.head + this.count - 1) & (this.times.length - 1);
      if (this.times[last] === now) {
        this.totals[last] = total;
        return;
      }
    }
    if (this.count === this.times.length) this.grow();
    const at = (this.head + this.count) & (this.times.length - 1);
    this.times[at] = now;
    this.totals[at] = total;
    this.count++;
  }

  /** Forgets releases that no window of at most `horizon` ms ending at `now` still contains. */
  evict(now: number, horizon: number): void {
    while (this.count > 0 && this.times[this.head]! + horizon <= now) {
      this.base = this.totals[this.head]!;
      this.head = (this.head + 1) & (this.times.length - 1);
      this.count--;
    }
    if (this.count === 0 && this.times.length > 1024) {
      this.times = new Float64Array(16);
      this.totals = new Float64Array(16);
      this.head = 0;
    }
  }

  /**
   * The earliest time (>= now) at which a release of `cost` keeps the window of `length` ms at
   * or under `allowance`; Infinity when `cost` alone exceeds it.
   */
  earliest(now: number, length: number, allowance: number, cost: number): number {
    if (cost > allowance) return Number.POSITIVE_INFINITY;
    // everything kept fits beside it: no window can be over (the common case, no search)
    if (this.total - this.base + cost <= allowance) return now;
    const first = this.firstInside(now, length);
    const before = this.totalBefore(first);
    const excess = this.total - before + cost - allowance;
    if (excess <= 0) return now;
    // the oldest entries must leave the window until `excess` has left: the first entry whose
    // running total reaches before + excess is the last to leave, at its time + length
    let lo = first;
    let hi = this.count - 1;
    const target = before + excess;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.totalAt(mid) >= target) hi = mid;
      else lo = mid + 1;
    }
    return this.timeAt(lo) + length;
  }

  /** Index (0 = oldest) of the first entry still inside the window; `count` if none. */
  private firstInside(now: number, length: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) + length > now) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private totalBefore(index: number): number {
    return index === 0 ? this.base : this.totalAt(index - 1);
  }

  private timeAt(index: number): number {
    return this.times[(this.head + index) & (this.times.length - 1)]!;
  }

  private totalAt(index: number): number {
    return this.totals[(this.head + index) & (this.times.length - 1)]!;
  }

  private grow(): void {
    const length = this.times.length;
    const times = new Float64Array(length * 2);
    const totals = new Float64Array(length * 2);
    for (let i = 0; i < this.count; i++) {
      times[i] = this.timeAt(i);
      totals[i] = this.totalAt(i);
    }
    this.times = times;
    this.totals = totals;
    this.head = 0;
  }
}
