/**
 * The queue's deduplication: ids the caller gave, live or inside their deduplication window,
 * and the window itself, a ring of those messages in enqueue order pruned from the front. A
 * generated id is unique by construction and encodes its slot, so it needs neither.
 * @module
 */
import { Ring } from '../ring.js';
import { isLive, type QueueMessage } from './message.js';

export class DedupIndex<T> {
  private readonly records = new Map<string, QueueMessage<T>>();
  private readonly window = new Ring<QueueMessage<T>>(16);

  constructor(
    /** Milliseconds an id stays refused after its enqueue. */
    private readonly span: number,
    /** Generated ids are `<prefix><tag>`. */
    readonly idPrefix: string,
    /** The message in a slot. */
    private readonly bySlot: (slot: number) => QueueMessage<T> | undefined,
    /** A message left the window: its id may be free now. */
    private readonly onWindowEnd: (message: QueueMessage<T>) => void,
  ) {}

  /** Caller ids remembered (live, or inside their window). */
  get size(): number {
    return this.records.size;
  }

  /** Whether some window is open (prune has work). */
  get open(): boolean {
    return this.window.size > 0;
  }

  /**
   * Whether a caller's `id` is live or inside its deduplication window, or is the generated id
   * (found through its slot) of a message that is still live.
   */
  has(id: string): boolean {
    if (this.records.has(id)) return true;
    if (!id.startsWith(this.idPrefix)) return false;
    const message = this.bySlot(Number.parseInt(id.slice(this.idPrefix.length), 10));
    return message !== undefined && message.id === id && isLive(message);
  }

  /** The message that holds a caller's id now, if any. */
  holder(id: string): QueueMessage<T> | undefined {
    return this.records.get(id);
  }

  /** A message with a caller's id joined the queue (or came back by redrive). */
  remember(message: QueueMessage<T>, windowStarts: boolean): void {
    this.records.set(message.id, message);
    if (!windowStarts || this.span <= 0) return;
    message.inWindow = true;
    if (this.span !== Number.POSITIVE_INFINITY) this.window.push(message);
  }

  /** Frees the id of a message that left the queue and its window. */
  forget(message: QueueMessage<T>): void {
    if (message.named && this.records.get(message.id) === message) this.records.delete(message.id);
  }

  /** Ends the deduplication window of messages enqueued `span` ago or earlier. */
  prune(now: number): void {
    const window = this.window;
    const span = this.span;
    while (window.size > 0) {
      const oldest = window.peek();
      if (oldest.enqueuedAt + span > now) return;
      window.shift();
      oldest.inWindow = false;
      if (!isLive(oldest)) this.onWindowEnd(oldest);
    }
  }
}
