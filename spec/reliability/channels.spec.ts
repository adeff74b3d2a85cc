import { describe, expect, it } from 'vitest';
import { ChannelClosedError, mpmc, mpsc } from '../../src/index.js';
import { type Pullable, pull, type Sink } from '../../src/internal/demand.js';
import { flush, track } from '../support/promises.js';

const quietSink: Sink<number> = { next() {}, error() {}, complete() {} };

/** The demand handle a sluice consumer gets, with the failure argument a failing consumer passes. */
function pullFrom(rx: unknown): { cancel(failure?: { error: unknown }): void } {
  return (rx as Pullable<number>)[pull](quietSink) as {
    cancel(failure?: { error: unknown }): void;
  };
}

describe('Receiver.isClosed agrees with what can still arrive', () => {
  it('stays false while a send of the last, closed sender still waits to deliver', async () => {
    const [tx, rx] = mpsc<number>(1);
    await tx.send(1);
    const late = track(tx.send(2));
    tx.close();
    expect(tx.isClosed).toBe(true);
    expect(rx.isClosed).toBe(false); // 2 can still arrive
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
    await flush();
    expect(late.status).toBe('resolved');
    expect(rx.isClosed).toBe(true); // sending closed, nothing waits; 2 is buffered
    expect(rx.tryRecv()).toEqual({ ok: true, value: 2 });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('turns true when the last waiting send of a closed sender is aborted', () => {
    const [tx, rx] = mpsc<number>(1);
    tx.trySend(1);
    const controller = new AbortController();
    void tx.send(2, { signal: controller.signal }).catch(() => {});
    tx.close();
    expect(rx.isClosed).toBe(false);
    controller.abort();
    expect(rx.isClosed).toBe(true);
  });
});

describe('a failing consumer closes its channel (tokio: a dropped receiver)', () => {
  for (const [name, make] of [
    ['mpsc', () => mpsc<number>(1)],
    ['mpmc', () => mpmc<number>(1)],
  ] as const) {
    it(`${name}: waiting sends get their message back with the consumer's error as cause`, async () => {
      const [tx, rx] = make();
      await tx.send(1);
      const waiting = track(tx.send(2));
      const boom = new Error('ship failed');
      pullFrom(rx).cancel({ error: boom });
      await flush();
      expect(waiting.status).toBe('rejected');
      const err = waiting.error as ChannelClosedError<number>;
      expect(err).toBeInstanceOf(ChannelClosedError);
      expect(err.value).toBe(2);
      expect(err.cause).toBe(boom);
      expect(err.message).toMatch(/consumer failed/);
      await expect(tx.send(3)).rejects.toMatchObject({ value: 3, cause: boom });
      expect(rx.tryRecv()).toEqual({ ok: true, value: 1 }); // buffered messages stay readable
      await tx.closed();
    });
  }

  it('a plain cancel (unsubscribe) leaves the channel open for the next consumer', async () => {
    const [tx, rx] = mpsc<number>(1);
    await tx.send(1);
    const waiting = track(tx.send(2));
    pullFrom(rx).cancel();
    await flush();
    expect(waiting.status).toBe('pending');
    expect(rx.isClosed).toBe(false);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
    await flush();
    expect(waiting.status).toBe('resolved');
  });
});
