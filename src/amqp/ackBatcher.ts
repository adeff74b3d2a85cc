/**
 * Settles one consumer channel's deliveries, sending fewer acks: acks made in one burst (one
 * microtask turn) leave together, and those whose every earlier delivery is settled leave as a
 * single `basic.ack` with `multiple` set. The rest of the burst is acked one by one at the same
 * moment, so no ack waits on a slow handler and the prefetch window frees as fast as before.
 *
 * Delivery tags on a channel count up from 1, one per delivery, so "every tag up to T is
 * settled" is a counter (`base`) plus the settled tags above it. A `multiple` ack up to T is sent
 * only when every tag at or below T has been acked or rejected: it never settles a delivery a
 * handler still holds. Rejections (`nack`) leave at once, before any `multiple` ack that covers
 * them, since the broker refuses to settle a tag twice.
 * @module
 */
import type { Channel, Message } from 'amqplib';
import { ChannelClosedError } from 'sluice';

export class AckBatcher {
  /** Every delivery tag at or below it is settled (sent to the broker). */
  private base = 0;
  /** Tags above `base` that are settled or waiting in `pending`. */
  private readonly settled = new Set<number>();
  /** Acks not sent yet, in the order they were made. */
  private pending: Message[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly channel: Channel) {}

  /** Acks `message` in the next flush (this microtask turn). Throws when the batcher is closed. */
  ack(message: Message): void {
    if (this.closed) throw new ChannelClosedError('AckBatcher: the channel is closed', message);
    this.settled.add(message.fields.deliveryTag);
    this.pending.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Rejects `message` now (back to the queue with `requeue`); throws if the channel is gone. */
  nack(message: Message, requeue: boolean): void {
    if (this.closed) throw new ChannelClosedError('AckBatcher: the channel is closed', message);
    this.channel.nack(message, false, requeue);
    this.settled.add(message.fields.deliveryTag);
  }

  /** Sends the acks made so far. Called before the channel closes, and by the microtask. */
  flush(): void {
    this.scheduled = false;
    const acks = this.pending;
    if (acks.length === 0 || this.closed) return;
    this.pending = [];
    try {
      this.send(acks);
    } catch {
      // the channel is gone: the broker redelivers what was not acked
      this.close();
    }
  }

  private send(acks: readonly Message[]): void {
    let top = this.base;
    while (this.settled.has(top + 1)) {
      top++;
      this.settled.delete(top);
    }
    this.base = top;
    let covered: Message | undefined; // the highest ack at or below `top`
    let coveredCount = 0;
    for (const message of acks) {
      const tag = message.fields.deliveryTag;
      if (tag <= top) {
        coveredCount++;
        if (covered === undefined || tag > covered.fields.deliveryTag) covered = message;
      } else {
        this.channel.ack(message); // an earlier delivery is still held: this one alone
      }
    }
    if (covered !== undefined) this.channel.ack(covered, coveredCount > 1);
  }

  /** The channel is gone: acks not sent are dropped (the broker redelivers those messages). */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.settled.clear();
  }
}
