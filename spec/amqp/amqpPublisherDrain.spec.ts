/**
 * AmqpPublisher's flow control against a scripted confirm channel (no server): the write
 * buffer's `drain`, the order of waiting sends, and aborts while waiting. Every step is driven
 * by the test (confirms and drains are called by hand), so nothing depends on timing.
 */
import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import { AmqpPublisher, PublishFailedError } from 'sluice/amqp';
import { describe, expect, it } from 'vitest';

type Confirm = (err: unknown) => void;

class ScriptedChannel extends EventEmitter {
  bufferFull = false;
  readonly published: { body: string; confirm: Confirm }[] = [];
  publish(_e: string, _k: string, body: Buffer, _o: unknown, confirm: Confirm): boolean {
    this.published.push({ body: body.toString(), confirm });
    return !this.bufferFull;
  }
  async close(): Promise<void> {
    this.emit('close');
  }
}

function setup(maxUnconfirmed = 10) {
  const channel = new ScriptedChannel();
  const connection = {
    createChannel: () => Promise.reject(new Error('unused')),
    createConfirmChannel: async () => channel as unknown as ConfirmChannel,
  };
  const publisher = new AmqpPublisher<number>({
    connection,
    exchange: '',
    routingKey: 'q',
    maxUnconfirmed,
  });
  return { channel, publisher };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AmqpPublisher flow control (scripted channel)', () => {
  it('stops publishing while the write buffer is full, and resumes on drain', async () => {
    const { channel, publisher } = setup();
    const opened = publisher.send(0); // opens the channel
    await flush();
    channel.published.shift()?.confirm(null);
    await opened;

    channel.bufferFull = true;
    const a = publisher.send(1);
    await flush();
    expect(channel.published.map((p) => p.body)).toEqual(['1']); // published; buffer now full
    const b = publisher.send(2);
    await flush();
    expect(channel.published.map((p) => p.body)).toEqual(['1']); // waits for drain
    channel.bufferFull = false;
    channel.emit('drain');
    await flush();
    expect(channel.published.map((p) => p.body)).toEqual(['1', '2']);
    for (const p of channel.published) p.confirm(null);
    await Promise.all([a, b]);
    await publisher.close();
  });

  it('a send waiting for drain can be aborted: nothing is published, its place is freed', async () => {
    const { channel, publisher } = setup();
    channel.bufferFull = true;
    const a = publisher.send(1);
    await flush();
    const abort = new AbortController();
    const b = publisher.send(2, { signal: abort.signal });
    await flush();
    expect(publisher.unconfirmed).toBe(2);
    abort.abort(new Error('gave up'));
    await expect(b).rejects.toThrow('gave up');
    expect(publisher.unconfirmed).toBe(1);
    channel.emit('drain');
    await flush();
    expect(channel.published.map((p) => p.body)).toEqual(['1']);
    channel.published[0]?.confirm(null);
    await a;
    await publisher.close();
  });

  it('waiting sends take freed places first come, first served', async () => {
    const { channel, publisher } = setup(1);
    const sends = [1, 2, 3].map((n) => publisher.send(n));
    await flush();
    for (let n = 1; n <= 3; n++) {
      expect(channel.published.map((p) => p.body)).toEqual([String(n)]);
      channel.published.shift()?.confirm(null);
      await flush();
    }
    await Promise.all(sends);
    expect(publisher.unconfirmed).toBe(0);
    await publisher.close();
  });

  it('a nack rejects only its own send, with PublishFailedError carrying the message', async () => {
    const { channel, publisher } = setup();
    const a = publisher.send(1);
    const b = publisher.send(2);
    await flush();
    channel.published[0]?.confirm(new Error('message nacked'));
    channel.published[1]?.confirm(null);
    const error = await a.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishFailedError);
    expect((error as PublishFailedError<number>).reason).toBe('nacked');
    expect((error as PublishFailedError<number>).value).toBe(1);
    await b;
    await publisher.close();
  });

  it('close() waits for the unconfirmed messages, then closes the channel', async () => {
    const { channel, publisher } = setup();
    const a = publisher.send(1);
    await flush();
    let closed = false;
    channel.on('close', () => {
      closed = true;
    });
    const closing = publisher.close().then(() => 'closed');
    await flush();
    expect(closed).toBe(false);
    channel.published[0]?.confirm(null);
    await a;
    expect(await closing).toBe('closed');
    expect(closed).toBe(true);
  });
});
