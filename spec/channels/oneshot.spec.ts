import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ChannelClosedError, oneshot } from 'sluice';
import { describe, expect, it } from 'vitest';
import { type Pullable, pull } from '../../src/internal/demand.js';
import { caught, flush, track } from '../support/promises.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('oneshot: sender', () => {
  it('send is synchronous and the value is readable at once', () => {
    const [tx, rx] = oneshot<number>();
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    expect(tx.send(1)).toBeUndefined();
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
  });

  it('a second send throws ChannelClosedError handing the value back, and keeps the first', () => {
    const [tx, rx] = oneshot<string>();
    tx.send('first');
    const err = caught(() => tx.send('second'));
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as ChannelClosedError<string>).value).toBe('second');
    expect((err as Error).message).toMatch(/already sent/);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'first' });
  });

  it('next is send, including the error on a second value', () => {
    const [tx, rx] = oneshot<number>();
    const { next } = tx; // usable detached
    next(7);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 7 });
    const err = caught(() => tx.next(8));
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as ChannelClosedError<number>).value).toBe(8);
  });

  it('send after the receiver closed throws and hands the value back; nothing is stored', () => {
    const [tx, rx] = oneshot<{ id: number }>();
    rx.close();
    const message = { id: 1 };
    const err = caught(() => tx.send(message));
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as ChannelClosedError<{ id: number }>).value).toBe(message);
    expect((err as Error).message).toMatch(/receiver closed/);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(rx.sent).toBe(0);
  });

  it('send after complete() or error() throws ChannelClosedError with the value', () => {
    const [a] = oneshot<number>();
    a.complete();
    const e1 = caught(() => a.send(1));
    expect(e1).toBeInstanceOf(ChannelClosedError);
    expect((e1 as ChannelClosedError<number>).value).toBe(1);
    expect((e1 as Error).message).toMatch(/sender is closed/);

    const [b] = oneshot<number>();
    b.error(new Error('x'));
    const e2 = caught(() => b.send(2));
    expect((e2 as ChannelClosedError<number>).value).toBe(2);
  });

  it('complete() without a value fails the receiver with ChannelClosedError', async () => {
    const [tx, rx] = oneshot<number>();
    const waiting = track(rx.recv());
    tx.complete();
    await flush();
    expect(waiting.status).toBe('rejected');
    expect(waiting.error).toBeInstanceOf(ChannelClosedError);
    expect((waiting.error as Error).message).toBe(
      'oneshot: the sender closed without sending a value',
    );
    await expect(rx.recv()).rejects.toBeInstanceOf(ChannelClosedError);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('complete() after a send is fine: the value stays readable', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(3);
    tx.complete();
    tx.complete();
    expect(await rx.recv()).toBe(3);
    expect(await lastValueFrom(rx)).toBe(3);
  });

  it('close() is complete()', async () => {
    const [tx, rx] = oneshot<number>();
    tx.close();
    expect(tx.isClosed).toBe(true);
    await expect(rx.recv()).rejects.toThrow('sender closed without sending');
  });

  it('error(e) makes every reader fail with e, now and later', async () => {
    const [tx, rx] = oneshot<number>();
    const boom = new Error('boom');
    const waiting = track(rx.recv());
    const seen: unknown[] = [];
    rx.subscribe({ error: (e) => seen.push(e) });
    tx.error(boom);
    await flush();
    expect(waiting.error).toBe(boom);
    expect(seen).toEqual([boom]);
    await expect(rx.recv()).rejects.toBe(boom);
    await expect(firstValueFrom(rx)).rejects.toBe(boom);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('error(e) after a send or a complete is ignored', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(1);
    tx.error(new Error('late'));
    expect(await rx.recv()).toBe(1);

    const [tx2, rx2] = oneshot<number>();
    tx2.complete();
    tx2.error(new Error('late'));
    await expect(rx2.recv()).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('isClosed: false while open; true after send, complete, error or receiver close', () => {
    const cases: Array<(tx: ReturnType<typeof oneshot<number>>) => void> = [
      ([tx]) => tx.send(1),
      ([tx]) => tx.complete(),
      ([tx]) => tx.error(new Error('x')),
      ([, rx]) => rx.close(),
    ];
    for (const act of cases) {
      const pair = oneshot<number>();
      expect(pair[0].isClosed).toBe(false);
      act(pair);
      expect(pair[0].isClosed).toBe(true);
    }
  });

  it('closed() resolves when the receiver closes, and not before', async () => {
    const [tx, rx] = oneshot<number>();
    const closed = track(tx.closed());
    await flush();
    expect(closed.status).toBe('pending');
    rx.close();
    await flush();
    expect(closed.status).toBe('resolved');
    await tx.closed(); // already closed: resolves at once
  });

  it('closed() also resolves once the value was sent', async () => {
    const [tx] = oneshot<number>();
    const closed = track(tx.closed());
    tx.send(1);
    await flush();
    expect(closed.status).toBe('resolved');
  });

  it('closed() lets a producer abandon work nobody waits for', async () => {
    const [tx, rx] = oneshot<number>();
    let release!: (n: number) => void;
    const work = new Promise<number>((resolve) => {
      release = resolve;
    });
    const producer = Promise.race([work.then((n) => tx.send(n)), tx.closed()]);
    rx.close();
    await producer;
    release(5); // finishes after the race: its send would have thrown
    expect(tx.isClosed).toBe(true);
  });
});

describe('oneshot: receiver', () => {
  it('recv() waits for the value and every waiting recv gets it', async () => {
    const [tx, rx] = oneshot<string>();
    const a = track(rx.recv());
    const b = track(rx.recv());
    await flush();
    expect(a.status).toBe('pending');
    tx.send('v');
    await flush();
    expect(a).toEqual({ status: 'resolved', value: 'v' });
    expect(b).toEqual({ status: 'resolved', value: 'v' });
    expect(rx.received).toBe(2);
  });

  it('recv() after the value was sent resolves at once, any number of times', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(1);
    expect(await rx.recv()).toBe(1);
    expect(await rx.recv()).toBe(1);
  });

  it('tryRecv tells empty from closed and returns the value every time once sent', () => {
    const [tx, rx] = oneshot<number>();
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    tx.send(0);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 0 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 0 });
    const [tx2, rx2] = oneshot<number>();
    tx2.complete();
    expect(rx2.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('undefined is a legitimate value', async () => {
    const [tx, rx] = oneshot<undefined>();
    tx.send(undefined);
    expect(rx.tryRecv()).toEqual({ ok: true, value: undefined });
    expect(await rx.recv()).toBeUndefined();
  });

  it('a value sent before rx.close() stays readable', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(9);
    rx.close();
    expect(rx.isClosed).toBe(true);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 9 });
    expect(await rx.recv()).toBe(9);
    expect(await firstValueFrom(rx)).toBe(9);
  });

  it('rx.close() before a value fails waiting readers and later ones', async () => {
    const [tx, rx] = oneshot<number>();
    const waiting = track(rx.recv());
    const errors: unknown[] = [];
    rx.subscribe({ error: (e) => errors.push(e) });
    rx.close();
    rx.close(); // idempotent
    await flush();
    expect(waiting.error).toBeInstanceOf(ChannelClosedError);
    expect((waiting.error as Error).message).toBe(
      'oneshot: the receiver closed before a value was sent',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ChannelClosedError);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    // the reason is kept, even after the sender later completes
    tx.complete();
    await expect(rx.recv()).rejects.toThrow('receiver closed before a value was sent');
  });

  it('introspection', () => {
    const [tx, rx] = oneshot<number>();
    expect([rx.capacity, rx.size, rx.sent, rx.received, rx.dropped, rx.isClosed]).toEqual([
      1,
      0,
      0,
      0,
      0,
      false,
    ]);
    tx.send(1);
    expect([rx.size, rx.sent, rx.received, rx.isClosed]).toEqual([1, 1, 0, true]);
    rx.tryRecv();
    rx.subscribe();
    expect(rx.received).toBe(2);
    expect(rx.dropped).toBe(0);
  });

  it('rejects bad recv options', async () => {
    const [, rx] = oneshot<number>();
    await expect(rx.recv(null as never)).rejects.toThrow(
      new TypeError('recv: options must be an object, got null'),
    );
    await expect(rx.recv({ signal: 'x' as never })).rejects.toThrow(
      new TypeError('recv: signal must be an AbortSignal, got "x"'),
    );
  });
});

describe('oneshot: cancellation', () => {
  it('aborting a waiting recv rejects with the reason and leaves the value for others', async () => {
    const [tx, rx] = oneshot<number>();
    const controller = new AbortController();
    const aborted = track(rx.recv({ signal: controller.signal }));
    const other = track(rx.recv());
    controller.abort(new Error('gave up'));
    await flush();
    expect(aborted.status).toBe('rejected');
    expect((aborted.error as Error).message).toBe('gave up');
    tx.send(1);
    await flush();
    expect(other).toEqual({ status: 'resolved', value: 1 });
    expect(rx.received).toBe(1); // the aborted reader was never served
    expect(await rx.recv()).toBe(1);
  });

  it('an already aborted signal rejects at once, even when the value is there', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(1);
    const controller = new AbortController();
    controller.abort('stop');
    await expect(rx.recv({ signal: controller.signal })).rejects.toBe('stop');
    expect(rx.received).toBe(0);
  });

  it('an abort after the recv settled changes nothing', async () => {
    const [tx, rx] = oneshot<number>();
    const controller = new AbortController();
    const p = rx.recv({ signal: controller.signal });
    tx.send(2);
    expect(await p).toBe(2);
    controller.abort();
    await flush();
  });

  it('unsubscribing before the value removes only that subscription', () => {
    const [tx, rx] = oneshot<number>();
    const a: number[] = [];
    const b: number[] = [];
    const subA = rx.subscribe((v) => a.push(v));
    rx.subscribe((v) => b.push(v));
    subA.unsubscribe();
    tx.send(1);
    expect(a).toEqual([]);
    expect(b).toEqual([1]);
  });
});

describe('oneshot: as an Observable', () => {
  it('emits the value then completes, to every subscription, also later ones', () => {
    const [tx, rx] = oneshot<string>();
    const log: string[] = [];
    rx.subscribe({ next: (v) => log.push(`1:${v}`), complete: () => log.push('1:|') });
    tx.send('a');
    rx.subscribe({ next: (v) => log.push(`2:${v}`), complete: () => log.push('2:|') });
    expect(log).toEqual(['1:a', '1:|', '2:a', '2:|']);
  });

  it('never completes empty: without a value it errors', () => {
    const [tx, rx] = oneshot<string>();
    const log: string[] = [];
    rx.subscribe({
      next: () => log.push('next'),
      complete: () => log.push('complete'),
      error: (e: unknown) => log.push((e as Error).name),
    });
    tx.complete();
    expect(log).toEqual(['ChannelClosedError']);
  });

  it('a subscriber that unsubscribes inside next does not get complete', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    const sub: { unsubscribe(): void } = rx.subscribe({
      next: () => {
        log.push('next');
        sub.unsubscribe();
      },
      complete: () => log.push('complete'),
    });
    tx.send(1);
    expect(log).toEqual(['next']);
  });

  it('a subscriber may send, close or subscribe again from inside next', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    rx.subscribe((v) => {
      log.push(`a${v}`);
      expect(() => tx.send(2)).toThrow(ChannelClosedError);
      rx.close();
      rx.subscribe((w) => log.push(`inner${w}`));
    });
    rx.subscribe((v) => log.push(`b${v}`));
    tx.send(1);
    expect(log).toEqual(['a1', 'inner1', 'b1']);
  });

  it('marble: a hot source feeds tx; rx emits the first value and completes', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  --a--b--|');
      const sourceSubs = '  ^-!';
      const [tx, rx] = oneshot<string>();
      source.pipe(take(1)).subscribe(tx);
      expectObservable(rx).toBe('--(a|)');
      expectObservable(rx, '-----^').toBe('-----(a|)'); // a late subscriber gets the value
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('marble: a source that completes empty makes rx error', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = oneshot<string>();
      hot('---|').subscribe(tx);
      expectObservable(rx).toBe(
        '---#',
        undefined,
        new ChannelClosedError('oneshot: the sender closed without sending a value'),
      );
    });
  });

  it('marble: a source error reaches rx', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = oneshot<string>();
      hot('--#', undefined, 'boom').subscribe(tx);
      expectObservable(rx).toBe('--#', undefined, 'boom');
    });
  });

  it('marble: a never source leaves rx pending; unsubscribing ends the subscription', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = oneshot<string>();
      hot('-').subscribe(tx);
      expectObservable(rx, '^---!').toBe('-----');
      expect(tx.isClosed).toBe(false);
    });
  });

  it('marble: the value sent between two subscriptions', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const [tx, rx] = oneshot<string>();
      cold('----a').subscribe(tx);
      expectObservable(rx, '--^').toBe('----(a|)');
      expectObservable(rx, '------^').toBe('------(a|)');
    });
  });

  it('rx composes with RxJS operators', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(4);
    expect(await lastValueFrom(rx.pipe(toArray()))).toEqual([4]);
  });
});

describe('oneshot: async iteration and demand', () => {
  it('for await yields exactly one value then ends', async () => {
    const [tx, rx] = oneshot<number>();
    queueMicrotask(() => tx.send(1));
    const seen: number[] = [];
    for await (const v of rx) seen.push(v);
    expect(seen).toEqual([1]);
  });

  it('the iterator ends after the value even when next() is called again', async () => {
    const [tx, rx] = oneshot<number>();
    tx.send(1);
    const it = rx[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 1 });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('for await throws ChannelClosedError when no value comes', async () => {
    const [tx, rx] = oneshot<number>();
    tx.complete();
    const run = async () => {
      for await (const _ of rx) {
        /* nothing */
      }
    };
    await expect(run()).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('a pull reader gets nothing until it requests, then the value and complete', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    const demand = (rx as unknown as Pullable<number>)[pull]({
      next: (v: number) => log.push(`next ${v}`),
      error: () => log.push('error'),
      complete: () => log.push('complete'),
    });
    tx.send(1);
    expect(log).toEqual([]);
    demand.request(1);
    expect(log).toEqual(['next 1', 'complete']);
    demand.request(1);
    expect(log).toEqual(['next 1', 'complete']);
  });

  it('a re-entrant request from inside next does not deliver twice', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    let demand: { request(n: number): void } | undefined;
    demand = (rx as unknown as Pullable<number>)[pull]({
      next: (v: number) => {
        log.push(`next ${v}`);
        demand?.request(1);
      },
      error: () => log.push('error'),
      complete: () => log.push('complete'),
    });
    demand.request(1);
    tx.send(1);
    expect(log).toEqual(['next 1', 'complete']);
  });

  it('a pull reader that cancels inside next gets no complete', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    const demand = (rx as unknown as Pullable<number>)[pull]({
      next: (v: number) => {
        log.push(`next ${v}`);
        demand.cancel();
      },
      error: () => log.push('error'),
      complete: () => log.push('complete'),
    });
    demand.request(1);
    tx.send(1);
    expect(log).toEqual(['next 1']);
  });

  it('a pull reader is failed without demand', () => {
    const [tx, rx] = oneshot<number>();
    const log: string[] = [];
    (rx as unknown as Pullable<number>)[pull]({
      next: () => log.push('next'),
      error: (e: unknown) => log.push((e as Error).message),
      complete: () => log.push('complete'),
    });
    tx.error(new Error('failed'));
    expect(log).toEqual(['failed']);
  });
});
