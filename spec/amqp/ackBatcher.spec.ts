/**
 * AckBatcher against a model of the broker's rules (no server): a `multiple` ack settles every
 * outstanding tag up to its own, and a tag settled twice is a channel error. Properties: no ack
 * ever settles a delivery the consumer has not acked (nor one it rejected), every acked
 * delivery is settled exactly once, and a burst of in-order acks leaves as one frame.
 */
import type { Channel, Message } from 'amqplib';
import fc from 'fast-check';
import { ChannelClosedError } from 'sluice';
import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../../src/amqp/ackBatcher.js';

/** The broker's side of one channel: outstanding tags, and what settled them. */
class BrokerModel {
  readonly outstanding = new Set<number>();
  readonly ackedByBroker = new Set<number>();
  frames = 0;
  /** Tags the consumer has acked (the only ones an ack may settle). */
  readonly userAcked = new Set<number>();
  deliver(tag: number): Message {
    this.outstanding.add(tag);
    return { fields: { deliveryTag: tag } } as unknown as Message;
  }
  private take(tag: number, how: string): void {
    if (!this.outstanding.has(tag)) throw new Error(`${how} of unknown delivery tag ${tag}`);
    this.outstanding.delete(tag);
  }
  readonly channel = {
    ack: (message: Message, allUpTo?: boolean) => {
      this.frames++;
      const top = message.fields.deliveryTag;
      const tags = allUpTo ? [...this.outstanding].filter((t) => t <= top) : [top];
      if (allUpTo && !this.outstanding.has(top)) throw new Error(`unknown delivery tag ${top}`);
      for (const tag of tags) {
        if (!this.userAcked.has(tag)) throw new Error(`tag ${tag} acked but the consumer holds it`);
        this.take(tag, 'ack');
        this.ackedByBroker.add(tag);
      }
    },
    nack: (message: Message, allUpTo?: boolean, _requeue?: boolean) => {
      this.frames++;
      expect(allUpTo).toBe(false);
      this.take(message.fields.deliveryTag, 'nack');
    },
  } as unknown as Channel;
}

describe('AckBatcher', () => {
  it('sends a burst of in-order acks as one multiple ack, after the current microtask turn', async () => {
    const broker = new BrokerModel();
    const batcher = new AckBatcher(broker.channel);
    const messages = [1, 2, 3, 4].map((tag) => broker.deliver(tag));
    for (const message of messages) {
      broker.userAcked.add(message.fields.deliveryTag);
      batcher.ack(message);
    }
    expect(broker.frames).toBe(0);
    await Promise.resolve();
    expect(broker.frames).toBe(1);
    expect(broker.outstanding.size).toBe(0);
  });

  it('acks one by one past a delivery still held, and covers them once it is acked', async () => {
    const broker = new BrokerModel();
    const batcher = new AckBatcher(broker.channel);
    const [a, b, c] = [1, 2, 3].map((tag) => broker.deliver(tag)) as [Message, Message, Message];
    broker.userAcked.add(2).add(3);
    batcher.ack(b);
    batcher.ack(c);
    batcher.flush();
    expect(broker.frames).toBe(2); // 1 is held: 2 and 3 leave alone, the window frees
    expect([...broker.outstanding]).toEqual([1]);
    broker.userAcked.add(1);
    batcher.ack(a);
    batcher.flush();
    expect(broker.outstanding.size).toBe(0);
  });

  it('counts a rejected delivery as settled, so the acks after it still leave as one', () => {
    const broker = new BrokerModel();
    const batcher = new AckBatcher(broker.channel);
    const messages = [1, 2, 3, 4].map((tag) => broker.deliver(tag));
    batcher.nack(messages[0] as Message, true);
    for (const message of messages.slice(1)) {
      broker.userAcked.add(message.fields.deliveryTag);
      batcher.ack(message);
    }
    batcher.flush();
    expect(broker.frames).toBe(2); // the nack, then one multiple ack up to 4
    expect(broker.outstanding.size).toBe(0);
  });

  it('drops unsent acks when closed, and refuses new ones', () => {
    const broker = new BrokerModel();
    const batcher = new AckBatcher(broker.channel);
    broker.userAcked.add(1);
    batcher.ack(broker.deliver(1));
    batcher.close();
    batcher.flush();
    expect(broker.frames).toBe(0);
    expect(() => batcher.ack(broker.deliver(2))).toThrow(ChannelClosedError);
    expect(() => batcher.nack(broker.deliver(3), true)).toThrow(ChannelClosedError);
  });

  it('never settles a held or rejected delivery; settles every acked one once (property)', () => {
    const plan = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.record({
        order: fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i + 1),
          { minLength: 0, maxLength: n },
        ),
        kinds: fc.array(fc.constantFrom('ack', 'ack', 'requeue', 'reject'), {
          minLength: n,
          maxLength: n,
        }),
        flushes: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      }),
    );
    fc.assert(
      fc.property(plan, ({ order, kinds, flushes }) => {
        const broker = new BrokerModel();
        const batcher = new AckBatcher(broker.channel);
        const messages = kinds.map((_, i) => broker.deliver(i + 1));
        let acks = 0;
        order.forEach((tag, i) => {
          const message = messages[tag - 1] as Message;
          const kind = kinds[tag - 1];
          if (kind === 'ack') {
            acks++;
            broker.userAcked.add(tag);
            batcher.ack(message);
          } else {
            batcher.nack(message, kind === 'requeue');
          }
          if (flushes[i]) batcher.flush();
        });
        batcher.flush();
        expect([...broker.ackedByBroker].sort((x, y) => x - y)).toEqual(
          [...broker.userAcked].sort((x, y) => x - y),
        );
        const held = messages.map((_, i) => i + 1).filter((tag) => !order.includes(tag));
        expect([...broker.outstanding].sort((x, y) => x - y)).toEqual(held);
        expect(broker.frames).toBeLessThanOrEqual(order.length);
        expect(acks).toBe(broker.userAcked.size);
      }),
      { numRuns: 300 },
    );
  });
});
