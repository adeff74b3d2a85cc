/**
 * The queue's scenario suite written against the `QueueStore` interface, so that every store
 * passes the same tests: `describeQueueStore(name, open)` runs them on the in-memory
 * `MessageQueue` (spec/queue/storeContract.spec.ts) and on the Redis store
 * (spec/redis/storeContract.spec.ts).
 *
 * Time is a `ManualClock` the store runs on (its scheduler, and for Redis its lease clock):
 * `clock.advance(ms)` moves it and fires the store's timers. Nothing sleeps. Every call is
 * awaited, so a synchronous store and a remote one are driven the same way.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsumeOutcome, consumeQueue } from '../../src/queue/consume.js';
import { MessageTooLargeError } from '../../src/queue/messageTooLargeError.js';
import type { QueueStore } from '../../src/queue/store.js';
import type { Delivery } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';

/** The options every store under test understands. */
export interface ContractOptions {
  readonly visibilityTimeout?: number;
  readonly maxAttempts?: number;
  readonly dedupWindow?: number;
  readonly maxPayloadBytes?: number;
  readonly maxIdLength?: number;
}

/** Lets I/O and promise callbacks run (a remote store's replies), without real-time sleeps. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits, turn by turn, until `check` holds; fails naming `what` if it never does. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await check()) return;
    await turn();
  }
  throw new Error(`never happened: ${what}`);
}

/** A store under test, on a manual clock. */
export interface StoreHarness {
  readonly store: QueueStore<string>;
  readonly clock: ManualClock;
  /** Another handle on the same queue (another process, for a shared store; the same object for one in memory). */
  peer(): QueueStore<string> | Promise<QueueStore<string>>;
  /** Closes every handle and frees what the store holds. */
  dispose(): Promise<void>;
}

export type OpenStore = (
  clock: ManualClock,
  options: ContractOptions,
) => StoreHarness | Promise<StoreHarness>;

export function describeQueueStore(name: string, open: OpenStore): void {
  describe(`QueueStore contract: ${name}`, () => {
    let harnesses: StoreHarness[] = [];

    afterEach(async () => {
      for (const harness of harnesses) await harness.dispose();
      harnesses = [];
    });

    async function setup(options: ContractOptions = {}) {
      const clock = new ManualClock();
      const harness = await open(clock, { visibilityTimeout: 100, ...options });
      harnesses.push(harness);
      return { ...harness, store: harness.store, clock };
    }

    async function take(store: QueueStore<string>): Promise<Delivery<string>> {
      const [delivery] = await store.receive();
      if (delivery === undefined) throw new Error('expected a visible message');
      return delivery;
    }

    async function none(store: QueueStore<string>): Promise<void> {
      expect(await store.receive()).toEqual([]);
    }

    it('delivers first in, first out, with id, payload, attempt 1 and a deadline from the delivery', async () => {
      const { clock, store } = await setup();
      await store.enqueue('a', { id: 'A' });
      await store.enqueue('b', { id: 'B' });
      clock.advance(5);
      const first = await take(store);
      expect(first).toMatchObject({ id: 'A', payload: 'a', attempt: 1, deadline: 105 });
      expect(typeof first.receipt).toBe('string');
      expect((await take(store)).id).toBe('B');
      await none(store);
    });

    it('a crashed consumer: redelivered after the timeout as attempt 2, the old receipt stale', async () => {
      const { clock, store } = await setup();
      await store.enqueue('job', { id: 'j' });
      const crashed = await take(store);
      clock.advanceTo(99);
      await none(store);
      clock.advanceTo(100);
      expect(await store.stats()).toMatchObject({ visible: 1, inFlight: 0, expired: 1 });
      const second = await take(store);
      expect(second).toMatchObject({ id: 'j', attempt: 2, deadline: 200 });
      expect(second.receipt).not.toBe(crashed.receipt);
      expect(await store.ack(crashed.receipt)).toEqual({ ok: false, reason: 'stale' });
      expect(await store.stats()).toMatchObject({ inFlight: 1, acked: 0 });
      expect(await store.ack(second.receipt)).toEqual({ ok: true });
    });

    it('a late ack after redelivery is stale; the new holder acks', async () => {
      const { clock, store } = await setup();
      await store.enqueue('job');
      const slow = await take(store);
      clock.advance(100);
      const fast = await take(store);
      expect(await store.ack(slow.receipt)).toEqual({ ok: false, reason: 'stale' });
      expect(await store.ack(fast.receipt)).toEqual({ ok: true });
      expect(await store.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 1 });
    });

    it('a late ack at the deadline is expired, and the message is back in the queue', async () => {
      const { clock, store } = await setup();
      await store.enqueue('job');
      const d = await take(store);
      clock.advanceTo(100); // the deadline, exactly
      expect(await store.ack(d.receipt)).toEqual({ ok: false, reason: 'expired' });
      expect(await store.stats()).toMatchObject({ visible: 1, inFlight: 0, expired: 1, acked: 0 });
      expect(await store.ack(d.receipt)).toEqual({ ok: false, reason: 'expired' });
      expect((await take(store)).attempt).toBe(2);
    });

    it('extend keeps a slow consumer lease, and extend(0) ends it as an expiry', async () => {
      const { clock, store } = await setup();
      await store.enqueue('slow');
      const d = await take(store);
      clock.advanceTo(80);
      expect(await store.extend(d.receipt, 100)).toEqual({ ok: true, deadline: 180 });
      clock.advanceTo(150);
      await none(store);
      expect((await store.stats()).expired).toBe(0);
      clock.advanceTo(179);
      expect(await store.ack(d.receipt)).toEqual({ ok: true });

      await store.enqueue('short');
      const s = await take(store);
      expect(await store.extend(s.receipt, 0)).toEqual({ ok: true, deadline: 179 });
      expect(await store.ack(s.receipt)).toEqual({ ok: false, reason: 'expired' });
      expect((await take(store)).attempt).toBe(2);
    });

    it('a double ack is refused as acknowledged, and so are nack, extend and release', async () => {
      const { store } = await setup();
      await store.enqueue('x');
      const d = await take(store);
      expect(await store.ack(d.receipt)).toEqual({ ok: true });
      expect(await store.ack(d.receipt)).toEqual({ ok: false, reason: 'acked' });
      expect(await store.nack(d.receipt)).toEqual({ ok: false, reason: 'acked' });
      expect(await store.extend(d.receipt, 10)).toEqual({ ok: false, reason: 'acked' });
      expect(await store.release(d.receipt)).toEqual({ ok: false, reason: 'acked' });
      expect((await store.stats()).acked).toBe(1);
    });

    it('an unknown receipt is refused and changes nothing', async () => {
      const { store } = await setup();
      await store.enqueue('here', { id: 'same-id' });
      const before = await store.stats();
      for (const receipt of [
        'garbage',
        '',
        '1:2',
        'x:y:same-id',
        '999999:1:same-id',
        '999999:1:1-0:1:someone',
        42 as unknown as string,
        undefined as unknown as string,
      ]) {
        expect(await store.ack(receipt)).toEqual({ ok: false, reason: 'unknown' });
        expect(await store.nack(receipt)).toEqual({ ok: false, reason: 'unknown' });
        expect(await store.extend(receipt, 10)).toEqual({ ok: false, reason: 'unknown' });
        expect(await store.release(receipt)).toEqual({ ok: false, reason: 'unknown' });
      }
      expect(await store.stats()).toEqual(before);
      expect((await take(store)).payload).toBe('here');
    });

    it('a nacked or released receipt is refused as released', async () => {
      const { store } = await setup();
      await store.enqueue('x');
      const d = await take(store);
      expect(await store.nack(d.receipt)).toEqual({ ok: true, deadLettered: false });
      expect(await store.ack(d.receipt)).toEqual({ ok: false, reason: 'released' });
      expect(await store.nack(d.receipt)).toEqual({ ok: false, reason: 'released' });
      const again = await take(store);
      expect(again.attempt).toBe(2);
      expect(await store.release(again.receipt)).toEqual({ ok: true });
      expect(await store.ack(again.receipt)).toEqual({ ok: false, reason: 'released' });
      expect((await take(store)).attempt).toBe(2); // a release does not count the attempt
    });

    it('a nack with delay: hidden for the delay, then redelivered as the next attempt', async () => {
      const { clock, store } = await setup();
      await store.enqueue('retry me');
      clock.advanceTo(10);
      const d = await take(store);
      expect(await store.nack(d.receipt, { delay: 50, error: new Error('busy') })).toEqual({
        ok: true,
        deadLettered: false,
      });
      expect(await store.stats()).toMatchObject({ delayed: 1, inFlight: 0, visible: 0, nacked: 1 });
      clock.advanceTo(59);
      await none(store);
      clock.advanceTo(60);
      expect(await store.stats()).toMatchObject({ delayed: 0, visible: 1 });
      expect((await take(store)).attempt).toBe(2);
    });

    it('enqueue with delay: visible when due, in due order', async () => {
      const { clock, store } = await setup();
      await store.enqueue('later', { delay: 30 });
      await store.enqueue('soon', { delay: 10 });
      await store.enqueue('same time as soon', { delay: 10 });
      await store.enqueue('now');
      expect((await take(store)).payload).toBe('now');
      expect((await store.stats()).delayed).toBe(3);
      clock.advanceTo(10);
      expect([(await take(store)).payload, (await take(store)).payload]).toEqual([
        'soon',
        'same time as soon',
      ]);
      await none(store);
      clock.advanceTo(30);
      expect((await take(store)).payload).toBe('later');
    });

    it('a poison message: exactly maxAttempts deliveries, then a dead letter, and no more', async () => {
      const { clock, store } = await setup({ maxAttempts: 3 });
      await store.enqueue('poison', { id: 'p' });
      const attempts: number[] = [];
      for (let i = 0; i < 6; i++) {
        const [d] = await store.receive();
        if (d) {
          attempts.push(d.attempt);
          const result = await store.nack(d.receipt, { error: new Error(`fail ${d.attempt}`) });
          expect(result).toEqual({ ok: true, deadLettered: d.attempt === 3 });
        }
        clock.advance(1);
      }
      expect(attempts).toEqual([1, 2, 3]);
      const letters = await store.deadLetters();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        id: 'p',
        payload: 'poison',
        attempts: 3,
        reason: 'nacked',
      });
      expect((letters[0]!.lastError as Error).message).toBe('fail 3');
      expect(await store.stats()).toMatchObject({
        dead: 1,
        deadLettered: 1,
        visible: 0,
        inFlight: 0,
      });
    });

    it('a crashing poison message: expiries count, dead after maxAttempts with reason expired', async () => {
      const { clock, store } = await setup({ maxAttempts: 2 });
      await store.enqueue('crashes the consumer', { id: 'c' });
      const d1 = await take(store);
      await store.nack(d1.receipt, { error: 'first failure' });
      await take(store); // crashes
      clock.advance(100);
      await none(store);
      expect(await store.deadLetters()).toMatchObject([
        { id: 'c', attempts: 2, reason: 'expired', lastError: 'first failure', deadAt: 100 },
      ]);
    });

    it('redrive: dead letters go back with attempts reset; missing ids are reported', async () => {
      const { store } = await setup({ maxAttempts: 1 });
      await store.enqueue('a', { id: 'a' });
      await store.enqueue('b', { id: 'b' });
      await store.nack((await take(store)).receipt);
      const b = await take(store);
      await store.nack(b.receipt);
      expect((await store.deadLetters()).map((l) => l.id)).toEqual(['a', 'b']);
      await store.enqueue('c', { id: 'c' });
      expect(await store.redrive(['b', 'zzz'])).toEqual({
        redriven: ['b'],
        skipped: [{ id: 'zzz', reason: 'missing' }],
      });
      expect(await store.stats()).toMatchObject({ dead: 1, visible: 2, redriven: 1 });
      const c = await take(store);
      const again = await take(store);
      expect([c.id, again.id, again.attempt]).toEqual(['c', 'b', 1]);
      expect(await store.ack(b.receipt)).toEqual({ ok: false, reason: 'stale' });
      expect(await store.ack(again.receipt)).toEqual({ ok: true });
      expect(await store.redrive()).toEqual({ redriven: ['a'], skipped: [] });
      expect(await store.deadLetters()).toEqual([]);
    });

    it('redrive skips an id that is live again', async () => {
      const { clock, store } = await setup({ maxAttempts: 1, dedupWindow: 0 });
      await store.enqueue('old', { id: 'x' });
      await store.nack((await take(store)).receipt);
      clock.advance(1);
      expect((await store.enqueue('new', { id: 'x' })).ok).toBe(true);
      expect(await store.redrive(['x'])).toEqual({
        redriven: [],
        skipped: [{ id: 'x', reason: 'live' }],
      });
    });

    it('duplicate ids: refused while queued, delayed or in flight', async () => {
      const { store } = await setup();
      await store.enqueue('a', { id: 'a' });
      await store.enqueue('d', { id: 'd', delay: 50 });
      expect(await store.enqueue('again', { id: 'a' })).toEqual({
        ok: false,
        reason: 'duplicate',
        id: 'a',
      });
      expect(await store.enqueue('again', { id: 'd' })).toEqual({
        ok: false,
        reason: 'duplicate',
        id: 'd',
      });
      const a = await take(store);
      expect((await store.enqueue('again', { id: 'a' })).ok).toBe(false);
      expect(a.payload).toBe('a');
      expect(await store.stats()).toMatchObject({ duplicates: 3, enqueued: 2 });
    });

    it('a generated id given back is refused as a duplicate while its message is live', async () => {
      const { store } = await setup();
      const first = await store.enqueue('a');
      if (!first.ok) throw new Error('expected the enqueue to be accepted');
      expect(await store.enqueue('b', { id: first.id })).toEqual({
        ok: false,
        reason: 'duplicate',
        id: first.id,
      });
      const delivery = await take(store);
      expect(await store.enqueue('b', { id: first.id })).toMatchObject({ reason: 'duplicate' });
      await store.ack(delivery.receipt);
      await none(store);
    });

    it('duplicate ids: refused after the ack within the window, accepted after it', async () => {
      const { clock, store } = await setup({ dedupWindow: 1_000 });
      clock.advanceTo(100);
      await store.enqueue('once', { id: 'k' });
      await store.ack((await take(store)).receipt);
      clock.advanceTo(1_099);
      expect(await store.enqueue('twice', { id: 'k' })).toEqual({
        ok: false,
        reason: 'duplicate',
        id: 'k',
      });
      clock.advanceTo(1_100);
      expect(await store.enqueue('twice', { id: 'k' })).toEqual({ ok: true, id: 'k' });
      const fresh = await take(store);
      expect(fresh).toMatchObject({ payload: 'twice', attempt: 1 });
    });

    it('duplicate ids: a live message stays deduplicated after its window', async () => {
      const { clock, store } = await setup({ dedupWindow: 10, visibilityTimeout: 1_000 });
      await store.enqueue('slow', { id: 's' });
      const d = await take(store);
      clock.advance(500);
      expect((await store.enqueue('dup', { id: 's' })).ok).toBe(false);
      await store.ack(d.receipt);
      expect((await store.enqueue('now fine', { id: 's' })).ok).toBe(true);
    });

    it('competing receivers: each message reaches exactly one of them', async () => {
      const { store, peer } = await setup();
      const other = await peer();
      const polls = [
        store.receive({ wait: 1_000, max: 3 }),
        other.receive({ wait: 1_000, max: 3 }),
        store.receive({ wait: 1_000, max: 3 }),
        other.receive({ wait: 1_000, max: 3 }),
      ];
      for (let i = 0; i < 10; i++) await store.enqueue(`m${i}`);
      const batches = await Promise.all(polls);
      for (const batch of batches) expect(batch.length).toBeGreaterThan(0);
      const got = batches.flat().map((d) => d.payload);
      expect(new Set(got).size).toBe(got.length);
      const rest: string[] = [];
      for (let d = (await store.receive())[0]; d !== undefined; d = (await store.receive())[0]) {
        rest.push(d.payload);
      }
      expect([...got, ...rest].sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `m${i}`).sort(),
      );
      expect(await store.stats()).toMatchObject({ inFlight: 10, visible: 0, delivered: 10 });
    });

    it('a long poll is woken by an enqueue', async () => {
      const { store } = await setup();
      const polled = store.receive({ wait: 1_000, max: 5 });
      await store.enqueue('x');
      expect((await polled).map((d) => d.payload)).toEqual(['x']);
      expect((await store.stats()).inFlight).toBe(1);
    });

    it('a long poll is woken by a redelivery', async () => {
      const { clock, store } = await setup();
      await store.enqueue('x');
      const crashed = await take(store);
      const polled = store.receive({ wait: 1_000 });
      clock.advanceTo(100);
      const [d] = await polled;
      expect(d).toMatchObject({ id: crashed.id, attempt: 2 });
    });

    it('a long poll times out through the scheduler and resolves empty', async () => {
      const { clock, store } = await setup();
      const polled = store.receive({ wait: 300 });
      clock.advanceTo(300);
      expect(await polled).toEqual([]);
    });

    it('a long poll ended by abort rejects with the reason and leases nothing', async () => {
      const { store } = await setup();
      const controller = new AbortController();
      const polled = store.receive({ wait: 1_000, signal: controller.signal });
      controller.abort(new Error('stop'));
      await expect(polled).rejects.toThrow('stop');
      await store.enqueue('x');
      expect(await store.stats()).toMatchObject({ visible: 1, inFlight: 0 });
    });

    it('a long poll is ended by close: it resolves empty', async () => {
      const { store } = await setup();
      const polled = store.receive({ wait: Number.POSITIVE_INFINITY });
      await store.close();
      expect(await polled).toEqual([]);
      expect(store.isClosed).toBe(true);
    });

    it('close with in-flight messages: grace for acks, then the rest is released uncounted', async () => {
      const { clock, store } = await setup({ visibilityTimeout: 10_000 });
      for (const p of ['a', 'b', 'c']) await store.enqueue(p);
      const a = await take(store);
      const b = await take(store);
      let result: unknown;
      const closed = store.close({ grace: 500 }).then((r) => {
        result = r;
      });
      expect(store.isClosed).toBe(true);
      expect(await store.receive()).toEqual([]); // no new deliveries
      await expect(Promise.resolve().then(() => store.enqueue('d'))).rejects.toMatchObject({
        name: 'ChannelClosedError',
      });
      clock.advanceTo(200);
      expect(await store.ack(a.receipt)).toEqual({ ok: true });
      expect(result).toBeUndefined();
      clock.advanceTo(500);
      await closed;
      expect(result).toEqual({ released: 1 });
      expect(await store.ack(b.receipt)).toEqual({ ok: false, reason: 'released' });
      expect(await store.stats()).toMatchObject({ visible: 2, inFlight: 0, released: 1, acked: 1 });
      expect(clock.pending).toBe(0);
    });

    it('close resolves as soon as the last lease ends within the grace', async () => {
      const { store } = await setup();
      await store.enqueue('a');
      const a = await take(store);
      const closed = store.close({ grace: Number.POSITIVE_INFINITY });
      expect(store.close()).toBe(closed);
      await store.nack(a.receipt);
      await expect(closed).resolves.toEqual({ released: 0 });
    });

    it('size limits: a payload over maxPayloadBytes (UTF-8 bytes) or an id over maxIdLength is refused with MessageTooLargeError carrying neither, and nothing is enqueued', async () => {
      const { store } = await setup({ maxPayloadBytes: 100, maxIdLength: 8 });
      const big = 'é'.repeat(60); // 60 characters, 120 bytes: only counting bytes catches it
      const error = await (async () => store.enqueue(big))().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MessageTooLargeError);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({
        name: 'MessageTooLargeError',
        limit: 'maxPayloadBytes',
        max: 100,
      });
      expect((error as MessageTooLargeError).size).toBeGreaterThan(100);
      expect(JSON.stringify(error) + String(error) + (error as Error).stack).not.toContain('é');
      expect(Object.values(error as object)).not.toContain(big);
      const idError = await (async () => store.enqueue('small', { id: 'secret-tenant-id' }))().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(idError).toMatchObject({
        name: 'MessageTooLargeError',
        limit: 'maxIdLength',
        size: 16,
        max: 8,
      });
      expect(String(idError) + (idError as Error).stack).not.toContain('secret-tenant-id');
      expect((await store.stats()).enqueued).toBe(0);
      // at the limits: accepted
      expect(await store.enqueue('é'.repeat(45), { id: '12345678' })).toEqual({
        ok: true,
        id: '12345678',
      });
      expect((await take(store)).payload).toBe('é'.repeat(45));
    });

    it('size limits by default: 1 MiB payloads and 256-character ids', async () => {
      const { store } = await setup();
      await expect((async () => store.enqueue('x'.repeat(1_048_577)))()).rejects.toMatchObject({
        limit: 'maxPayloadBytes',
        max: 1_048_576,
      });
      await expect(
        (async () => store.enqueue('x', { id: 'i'.repeat(257) }))(),
      ).rejects.toMatchObject({
        limit: 'maxIdLength',
        max: 256,
      });
      expect((await store.enqueue('x', { id: 'i'.repeat(256) })).ok).toBe(true);
    });

    it('a handler that never settles, under consume() defaults: aborted when its lease runs out, its worker freed for the other messages, and dead-lettered as expired after maxAttempts', async () => {
      const { clock, store } = await setup({ maxAttempts: 2 });
      await store.enqueue('hang');
      await store.enqueue('ok1');
      await store.enqueue('ok2');
      const hangs: AbortSignal[] = [];
      const drain = new AbortController();
      const done = lastValueFrom(
        consumeQueue(
          store,
          (message, { signal }) => {
            if (message.payload !== 'hang') return Promise.resolve();
            hangs.push(signal);
            return new Promise<void>(() => {}); // never settles, ignores its signal
          },
          { scheduler: clock, pollWait: 0, signal: drain.signal }, // concurrency 1
        ).pipe(toArray()),
      );
      for (let attempt = 1; attempt <= 2; attempt++) {
        await eventually(
          () => hangs.length === attempt,
          `attempt ${attempt} of the hanging handler`,
        );
        expect(hangs[attempt - 1]?.aborted).toBe(false);
        clock.advance(100); // the lease runs out
        expect(hangs[attempt - 1]?.aborted).toBe(true);
      }
      await eventually(
        async () => (await store.deadLetters()).length === 1 && (await store.stats()).acked === 2,
        'ok1 and ok2 acked, hang dead',
      );
      const [letter] = await store.deadLetters();
      expect(letter).toMatchObject({ payload: 'hang', reason: 'expired', attempts: 2 });
      expect(hangs).toHaveLength(2); // never redelivered after that
      drain.abort();
      const outcomes: ConsumeOutcome<string>[] = await done;
      expect(outcomes.map((o) => `${o.message.payload}:${o.status}`).sort()).toEqual([
        'hang:lost',
        'hang:lost',
        'ok1:acked',
        'ok2:acked',
      ]);
      expect(outcomes.filter((o) => o.status === 'lost')).toMatchObject([
        { reason: 'expired' },
        { reason: 'expired' },
      ]);
    });

    for (const grace of [0, 500]) {
      it(`close({ grace: ${grace} }) cuts a running consume() handler off: its signal aborts before a peer can receive the message, the outcome says released, consume completes`, async () => {
        const { clock, store, peer } = await setup({ visibilityTimeout: 10_000 });
        const other = await peer();
        await store.enqueue('job');
        let signal: AbortSignal | undefined;
        let started!: () => void;
        const running = new Promise<void>((resolve) => {
          started = resolve;
        });
        const outcomes = lastValueFrom(
          consumeQueue(
            store,
            (_, context) => {
              signal = context.signal;
              started();
              return new Promise<void>(() => {}); // works until stopped
            },
            { scheduler: clock, pollWait: 0 },
          ).pipe(toArray()),
        );
        await running;
        const closed = store.close({ grace });
        clock.advance(grace);
        expect(await closed).toEqual({ released: 1 });
        expect(signal?.aborted).toBe(true); // stopped by the time the message is back in the queue
        const done = await outcomes; // completes
        expect(done).toHaveLength(1);
        expect(done[0]).toMatchObject({ status: 'lost', reason: 'released' });
        expect(done[0]?.message.payload).toBe('job');
        if (other !== store) expect((await take(other)).payload).toBe('job');
      });
    }
  });
}
