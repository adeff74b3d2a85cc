/**
 * The broadcast channel's semantics written once, for every implementation:
 * `describeBroadcast(name, open)` runs them on the in-memory `broadcast`
 * (spec/channels/broadcastSemantics.spec.ts) and on `redisBroadcast`
 * (spec/redis/broadcast.spec.ts), as spec/queue/storeContract.ts does for queue stores.
 *
 * What every implementation must do (tokio's `broadcast`): every receiver gets every message
 * sent after it joined, in send order; a receiver that joins late starts at the tail; one that
 * falls more than `capacity` behind skips to the oldest message kept and is told exactly how
 * many it missed (`onLag`, or `LaggedError` under `lag: 'error'`); a pull consumer gets no more
 * than it asked for; the channel keeps `capacity` messages whatever the number of receivers;
 * closing the sender ends every receiver after what was sent, failing it ends them with the
 * error.
 *
 * Every call is awaited, so a synchronous channel and one across a network are driven alike.
 * A remote receiver reads on its own time, so the suite waits for what a receiver has got
 * (`eventually`, a bounded poll), never for a duration, and checks bounds that must hold at
 * every moment (a pull consumer never gets more than it requested) inside the consumer.
 */
import { firstValueFrom, type Observable, toArray } from 'rxjs';
import { ChannelClosedError, LaggedError, workerPool } from 'sluice';
import { afterEach, describe, expect, it } from 'vitest';
import { type Demand, type Pullable, pull } from '../../src/internal/demand.js';

/** The options every implementation under test understands. */
export interface BroadcastTestOptions {
  readonly lag?: 'skip' | 'error';
  readonly onLag?: (skipped: number) => void;
}

/** One channel under test. */
export interface BroadcastHarness {
  /** Sends and resolves once the channel has the message; rejects when it is refused. */
  send(value: number): Promise<void>;
  /** Closes the sender (the channel: no other sender is open). */
  close(): Promise<void>;
  /** Fails the channel with `error`. */
  fail(error: Error): Promise<void>;
  /** The receiving half: every subscription, loop or pull on it is a receiver of its own. */
  readonly rx: Observable<number> & AsyncIterable<number>;
  /** Resolves once every receiver opened so far has joined (taken its place at the tail). */
  joined(): Promise<void>;
  /** Messages the channel keeps now. */
  retained(): Promise<number>;
  /** Frees what the channel holds. */
  dispose(): Promise<void>;
}

export type OpenBroadcast = (
  capacity: number,
  options: BroadcastTestOptions,
) => BroadcastHarness | Promise<BroadcastHarness>;

/** Waits until `check` holds (polling, bounded), for receivers that read on their own time. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A pull consumer as workerPool opens one; fails the test if it ever gets more than asked. */
function puller(rx: Observable<number>) {
  const got: number[] = [];
  let requested = 0;
  let ended: string | undefined;
  let overrun = false;
  const demand: Demand = (rx as unknown as Pullable<number>)[pull]({
    next: (value) => {
      got.push(value);
      if (got.length > requested) overrun = true;
    },
    error: (error) => {
      ended = `error:${error instanceof Error ? error.name : String(error)}`;
    },
    complete: () => {
      ended = 'complete';
    },
  });
  return {
    got,
    get ended() {
      return ended;
    },
    get overrun() {
      return overrun;
    },
    request(n: number) {
      requested += n;
      demand.request(n);
    },
    cancel: () => demand.cancel(),
  };
}

export function describeBroadcast(name: string, open: OpenBroadcast): void {
  describe(`broadcast semantics: ${name}`, () => {
    let harnesses: BroadcastHarness[] = [];
    afterEach(async () => {
      for (const harness of harnesses) await harness.dispose();
      harnesses = [];
    });
    async function setup(capacity: number, options: BroadcastTestOptions = {}) {
      const harness = await open(capacity, options);
      harnesses.push(harness);
      return harness;
    }

    it('every receiver gets every message sent after it joined, in order; late joiners start at the tail', async () => {
      const ch = await setup(8); // room for all: a remote subscriber may read after the last send
      const early = firstValueFrom(ch.rx.pipe(toArray()));
      await ch.joined();
      await ch.send(1);
      const late = firstValueFrom(ch.rx.pipe(toArray()));
      await ch.joined();
      for (const n of [2, 3, 4, 5, 6]) await ch.send(n);
      await ch.close();
      expect(await early).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await late).toEqual([2, 3, 4, 5, 6]);
    });

    it('a lagging for-await loop skips to the oldest kept message, told the exact count', async () => {
      const skips: number[] = [];
      const ch = await setup(2, { onLag: (n) => skips.push(n) });
      const loop = ch.rx[Symbol.asyncIterator](); // a receiver from here on
      await ch.joined();
      for (let i = 1; i <= 5; i++) await ch.send(i);
      expect(await loop.next()).toEqual({ done: false, value: 4 });
      expect(skips).toEqual([3]);
      expect(await loop.next()).toEqual({ done: false, value: 5 });
      await ch.close();
      expect(await loop.next()).toEqual({ done: true, value: undefined });
    });

    it('a receiver that keeps within capacity never lags', async () => {
      const skips: number[] = [];
      const ch = await setup(3, { onLag: (n) => skips.push(n) });
      const loop = ch.rx[Symbol.asyncIterator]();
      await ch.joined();
      for (let i = 1; i <= 3; i++) await ch.send(i);
      expect(await loop.next()).toEqual({ done: false, value: 1 });
      await ch.send(4);
      expect(await loop.next()).toEqual({ done: false, value: 2 });
      expect(await loop.next()).toEqual({ done: false, value: 3 });
      expect(await loop.next()).toEqual({ done: false, value: 4 });
      expect(skips).toEqual([]);
      await loop.return?.();
    });

    it("lag: 'error' ends a pull stream with LaggedError carrying the exact count", async () => {
      const ch = await setup(2, { lag: 'error' });
      const loop = ch.rx[Symbol.asyncIterator]();
      await ch.joined();
      await ch.send(1);
      expect(await loop.next()).toEqual({ done: false, value: 1 });
      for (let i = 2; i <= 6; i++) await ch.send(i);
      const error = await loop.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LaggedError);
      expect((error as LaggedError).skipped).toBe(3);
      expect(await loop.next()).toEqual({ done: true, value: undefined });
    });

    it('a pull consumer never gets more than it requested, and gets all it requested', async () => {
      const ch = await setup(8);
      const p = puller(ch.rx);
      await ch.joined();
      for (const n of [1, 2, 3]) await ch.send(n);
      p.request(1);
      await eventually(() => p.got.length === 1, 'the first message');
      p.request(1);
      await eventually(() => p.got.length === 2, 'the second message');
      p.request(5);
      await ch.send(4);
      await eventually(() => p.got.length === 4, 'the rest');
      expect(p.got).toEqual([1, 2, 3, 4]);
      expect(p.overrun).toBe(false);
      await ch.close();
      await eventually(() => p.ended !== undefined, 'the end');
      expect(p.ended).toBe('complete');
    });

    it('a caught-up pull consumer with no demand completes at close (complete needs no demand)', async () => {
      const ch = await setup(2);
      const p = puller(ch.rx);
      await ch.joined();
      await ch.close();
      await eventually(() => p.ended !== undefined, 'the end');
      expect(p.ended).toBe('complete');
      expect(p.got).toEqual([]);
    });

    it('a workerPool reading a receiver pulls at its own pace and lags instead of buffering', async () => {
      const skips: number[] = [];
      const ch = await setup(2, { onLag: (n) => skips.push(n) });
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const started: number[] = [];
      const done = firstValueFrom(
        ch.rx.pipe(
          workerPool(
            async (n: number) => {
              started.push(n);
              if (n === 1) await gate;
              return n;
            },
            { concurrency: 1 },
          ),
          toArray(),
        ),
      );
      await ch.joined();
      await ch.send(1);
      await eventually(() => started.length === 1, 'the first job');
      for (let i = 2; i <= 10; i++) await ch.send(i);
      release();
      await ch.close();
      expect(await done).toEqual([1, 9, 10]);
      expect(skips).toEqual([7]);
    });

    it('the channel keeps capacity messages, whatever the number of receivers', async () => {
      const ch = await setup(3);
      const loops = [1, 2, 3, 4].map(() => ch.rx[Symbol.asyncIterator]());
      await ch.joined();
      for (let i = 1; i <= 20; i++) await ch.send(i);
      expect(await ch.retained()).toBeLessThanOrEqual(3);
      for (const loop of loops) expect(await loop.next()).toEqual({ done: false, value: 18 });
      for (const loop of loops) await loop.return?.();
    });

    it('after close, each receiver reads what it had not read, then completes', async () => {
      const ch = await setup(4);
      const slow = ch.rx[Symbol.asyncIterator]();
      await ch.joined();
      for (const n of [1, 2, 3]) await ch.send(n);
      await ch.close();
      const rest: number[] = [];
      for await (const n of { [Symbol.asyncIterator]: () => slow }) rest.push(n);
      expect(rest).toEqual([1, 2, 3]);
    });

    it('a receiver opened after close completes at once; sending after close is refused with the message', async () => {
      const ch = await setup(2);
      await ch.send(1);
      await ch.close();
      expect(await firstValueFrom(ch.rx.pipe(toArray()))).toEqual([]);
      const refused = await ch.send(2).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(ChannelClosedError);
      expect((refused as ChannelClosedError<number>).value).toBe(2);
    });

    it('failing the channel: receivers read what was sent, then get the error', async () => {
      const ch = await setup(4);
      const got: number[] = [];
      const ended = new Promise<unknown>((resolve) => {
        ch.rx.subscribe({ next: (n) => got.push(n), error: resolve });
      });
      await ch.joined();
      await ch.send(1);
      await ch.send(2);
      await ch.fail(new RangeError('producer broke'));
      const error = await ended;
      expect(got).toEqual([1, 2]);
      expect(error).toMatchObject({ name: 'RangeError', message: 'producer broke' });
    });

    it('unsubscribing ends that receiver only', async () => {
      const ch = await setup(4);
      const a: number[] = [];
      const subscription = ch.rx.subscribe((n) => a.push(n));
      const b = firstValueFrom(ch.rx.pipe(toArray()));
      await ch.joined();
      await ch.send(1);
      await eventually(() => a.length === 1, 'the first message');
      subscription.unsubscribe();
      await ch.send(2);
      await ch.close();
      expect(await b).toEqual([1, 2]);
      expect(a).toEqual([1]);
    });
  });
}
