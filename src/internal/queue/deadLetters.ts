/**
 * The queue's dead letters: kept oldest first up to a capacity (the oldest evicted to make
 * room), listed, redriven and purged by id.
 * @module
 */
import { reportUnhandledError } from '../reportUnhandledError.js';
import { Ring } from '../ring.js';
import type { QueueMessage } from './message.js';

interface DeadEntry<T, L> {
  readonly letter: L;
  readonly message: QueueMessage<T>;
}

/** The frozen dead letter of `message`, dead at `now` for `reason`. */
export function deadLetterOf<T>(
  message: QueueMessage<T>,
  reason: 'nacked' | 'expired',
  now: number,
) {
  const fields = {
    id: message.id,
    payload: message.payload as T,
    attempts: message.attempts,
    lastError: message.lastError,
    reason,
    enqueuedAt: message.enqueuedAt,
    deadAt: now,
  };
  return Object.freeze(
    message.headers === undefined ? fields : { ...fields, headers: message.headers },
  );
}

export class DeadLetters<T, L extends { readonly id: string }> {
  private readonly entries = new Map<number, DeadEntry<T, L>>();
  /**
   * Entries oldest first, for O(1) eviction (a Map's first entry is found by skipping the
   * holes deletions left, which grows with the capacity). Entries redriven or purged stay here
   * until they reach the front or a compaction drops them.
   */
  private readonly order = new Ring<DeadEntry<T, L>>(16);
  /** Dead letters evicted to make room. */
  evicted = 0;

  constructor(
    private readonly capacity: number,
    private readonly onEvict: ((letter: L) => void) | undefined,
    /** A dead message is no longer kept (evicted or purged). */
    private readonly onDrop: (message: QueueMessage<T>) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Keeps a new dead letter; returns the one evicted to make room, if any. */
  add(message: QueueMessage<T>, letter: L): L | undefined {
    const entry: DeadEntry<T, L> = { letter, message };
    this.entries.set(message.seq, entry);
    this.order.push(entry);
    if (this.entries.size <= this.capacity) return undefined;
    for (;;) {
      const oldest = this.order.shift();
      const seq = oldest.message.seq;
      if (this.entries.get(seq) !== oldest) continue; // redriven or purged since
      this.entries.delete(seq);
      this.onDrop(oldest.message);
      this.evicted++;
      return oldest.letter;
    }
  }

  /** Tells `onEvict`; a throwing callback is reported and stops nothing. */
  reportEvicted(letter: L): void {
    if (this.onEvict === undefined) return;
    try {
      this.onEvict(letter);
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  letters(): L[] {
    return Array.from(this.entries.values(), (entry) => entry.letter);
  }

  /** Dead messages for the given ids (each id's letters, oldest first), or all of them. */
  select(
    ids: Iterable<string> | undefined,
    missing: Array<{ id: string; reason: 'missing' }>,
  ): Array<DeadEntry<T, L>> {
    if (ids === undefined) return Array.from(this.entries.values());
    const wanted = new Set(ids);
    const found = new Set<string>();
    const selected: Array<DeadEntry<T, L>> = [];
    for (const entry of this.entries.values()) {
      if (wanted.has(entry.letter.id)) {
        selected.push(entry);
        found.add(entry.letter.id);
      }
    }
    for (const id of wanted) if (!found.has(id)) missing.push({ id, reason: 'missing' });
    return selected;
  }

  /** Takes a dead message out (redrive); `drop` also lets it go (purge). */
  remove(message: QueueMessage<T>, drop: boolean): void {
    this.entries.delete(message.seq);
    if (drop) this.onDrop(message);
  }

  /**
   * Moves dead messages (those with `ids`, or all) back: `revive` puts one back in the queue
   * (its attempts are reset after), or says why it stays a dead letter.
   */
  redrive(
    ids: Iterable<string> | undefined,
    revive: (message: QueueMessage<T>) => 'live' | 'full' | undefined,
  ): { redriven: string[]; skipped: Array<{ id: string; reason: 'missing' | 'live' | 'full' }> } {
    const skipped: Array<{ id: string; reason: 'missing' | 'live' | 'full' }> = [];
    const missing: Array<{ id: string; reason: 'missing' }> = [];
    const redriven: string[] = [];
    for (const { message } of this.select(ids, missing)) {
      const refused = revive(message);
      if (refused !== undefined) {
        skipped.push({ id: message.id, reason: refused });
        continue;
      }
      message.attempts = 0;
      message.lastEnd = 0;
      message.lastError = undefined;
      this.entries.delete(message.seq);
      redriven.push(message.id);
    }
    skipped.push(...missing);
    this.compact();
    return { redriven, skipped };
  }

  /** Redrive and purge leave entries behind in `order`: drop them once they dominate. */
  compact(): void {
    const order = this.order;
    if (order.size <= 2 * this.entries.size + 16) return;
    for (let n = order.size; n > 0; n--) {
      const entry = order.shift();
      if (this.entries.get(entry.message.seq) === entry) order.push(entry);
    }
  }
}
