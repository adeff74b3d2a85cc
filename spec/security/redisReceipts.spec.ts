/**
 * `RedisQueue` receipts are unforgeable: each carries 96 random bits checked exactly in Lua and
 * names its queue. Receipts derived from a message's id, from another receipt, from a stale
 * receipt (every nearby value of each numeric field, every one-character change of the random
 * part), and receipts of another queue on the same server are all refused, for every call that
 * takes a receipt, and change nothing. Time is a ManualClock (`clock: 'scheduler'`), so two
 * queues can lease in the very same millisecond.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Delivery } from '../../src/queue/types.js';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { closeAfterEach, describeRedis, useRedisServer } from '../redis/redisServer.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describeRedis('RedisQueue receipts on a shared server', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let count = 0;

  function open(options: Partial<RedisQueueOptions<string>> = {}, clock = new ManualClock()) {
    const queue = new RedisQueue<string>({
      connection: redis.connect(),
      name: `sec${++count}`,
      clock: 'scheduler',
      scheduler: clock,
      visibilityTimeout: 1_000,
      consumer: 'worker-1',
      ...options,
    });
    opened.push(queue);
    return { clock, queue };
  }

  function parts(receipt: string) {
    const [seq, n, nonce, ...base] = receipt.split(':');
    return { seq: seq!, n: Number(n), nonce: nonce!, base: base.join(':') };
  }

  /** Every call that takes a receipt, each refusing `receipt` without changing anything. */
  async function expectRefused(queue: RedisQueue<string>, receipt: string) {
    const answers = [
      await queue.ack(receipt),
      await queue.extend(receipt, Number.POSITIVE_INFINITY),
      await queue.nack(receipt),
      await queue.release(receipt),
    ];
    for (const answer of answers) expect(answer.ok, receipt).toBe(false);
  }

  async function oneDelivery(queue: RedisQueue<string>): Promise<Delivery<string>> {
    const [delivery] = await queue.receive();
    expect(delivery).toBeDefined();
    return delivery!;
  }

  it('a receipt carries 16 base64url characters (96 bits) of randomness, new for every delivery', async () => {
    const { clock, queue } = open({ visibilityTimeout: 10 });
    await queue.enqueue('x');
    const seen = new Set<string>();
    for (let attempt = 0; attempt < 4; attempt++) {
      const delivery = await oneDelivery(queue);
      const { nonce, base } = parts(delivery.receipt);
      expect(nonce).toMatch(/^[\w-]{16}$/);
      expect(base).toBe(queue.keys.base);
      seen.add(nonce);
      clock.advance(10);
    }
    expect(seen.size).toBe(4);
  });

  it('a receipt computed from the message id, or from the deadline, is refused', async () => {
    const { queue } = open();
    const { id } = (await queue.enqueue('x')) as { id: string };
    const delivery = await oneDelivery(queue);
    const seq = id.slice(1);
    const guesses = [
      `${seq}:1:${'A'.repeat(16)}:${queue.keys.base}`,
      `${seq}:1:${String(delivery.deadline).padStart(16, '0')}:${queue.keys.base}`,
      `${seq}:1:${delivery.deadline}:worker-1`,
      `${seq}:1:${String(delivery.deadline)}-0:1:worker-1`, // the old layout
    ];
    for (const guess of guesses) await expectRefused(queue, guess);
    expect(await queue.stats()).toMatchObject({ inFlight: 1, acked: 0, nacked: 0, released: 0 });
    expect(await queue.ack(delivery.receipt)).toEqual({ ok: true });
  });

  it('every nearby value of each numeric field, and every one-character change of the random part, is refused', async () => {
    const { queue } = open();
    for (const p of ['a', 'b', 'c']) await queue.enqueue(p);
    const [, delivery] = await queue.receive({ max: 3 });
    const { seq, n, nonce, base } = parts(delivery!.receipt);
    const forged: string[] = [];
    for (const dSeq of [-2, -1, 1, 2]) forged.push(`${Number(seq) + dSeq}:${n}:${nonce}:${base}`);
    for (const dN of [-1, 1, 2]) forged.push(`${seq}:${n + dN}:${nonce}:${base}`);
    forged.push(`0${seq}:${n}:${nonce}:${base}`, `${seq}:0${n}:${nonce}:${base}`);
    for (let i = 0; i < nonce.length; i++) {
      const at = BASE64URL.indexOf(nonce[i]!);
      for (const step of [1, BASE64URL.length - 1]) {
        const c = BASE64URL[(at + step) % BASE64URL.length]!;
        forged.push(`${seq}:${n}:${nonce.slice(0, i) + c + nonce.slice(i + 1)}:${base}`);
      }
    }
    forged.push(`${seq}:${n}:${nonce.slice(1)}:${base}`, `${seq}:${n}:${nonce}A:${base}`);
    for (const receipt of forged) await expectRefused(queue, receipt);
    expect(await queue.stats()).toMatchObject({ inFlight: 3, acked: 0, nacked: 0, released: 0 });
    expect(await queue.ack(delivery!.receipt)).toEqual({ ok: true });
  });

  it('a stale receipt stays refused, and bumping its delivery number does not make it current', async () => {
    const { clock, queue } = open();
    await queue.enqueue('x');
    const first = await oneDelivery(queue);
    clock.advance(1_000);
    const second = await oneDelivery(queue);
    expect(second.attempt).toBe(2);
    const old = parts(first.receipt);
    expect(await queue.ack(first.receipt)).toEqual({ ok: false, reason: 'stale' });
    await expectRefused(queue, `${old.seq}:${old.n + 1}:${old.nonce}:${old.base}`);
    expect(await queue.stats()).toMatchObject({ inFlight: 1, acked: 0 });
    expect(await queue.ack(second.receipt)).toEqual({ ok: true });
  });

  it('two queues with the same consumer name, leasing in the same millisecond, refuse each other’s receipts', async () => {
    const clock = new ManualClock();
    const a = open({}, clock).queue;
    const b = open({}, clock).queue;
    await Promise.all([a.enqueue('for a'), b.enqueue('for b')]);
    const [da, db] = await Promise.all([oneDelivery(a), oneDelivery(b)]);
    expect(parts(da.receipt).seq).toBe(parts(db.receipt).seq);
    expect(da.deadline).toBe(db.deadline);
    expect(await a.ack(db.receipt)).toEqual({ ok: false, reason: 'unknown' });
    expect(await b.ack(da.receipt)).toEqual({ ok: false, reason: 'unknown' });
    // another queue's receipt with this queue's name put in: the random part still differs
    const moved = { ...parts(db.receipt), base: a.keys.base };
    await expectRefused(a, `${moved.seq}:${moved.n}:${moved.nonce}:${moved.base}`);
    // even if the random parts collided, the receipt names the other queue
    const connection = redis.connect();
    await connection.hset(a.keys.message(parts(da.receipt).seq), 'rk', parts(db.receipt).nonce);
    expect(await a.ack(db.receipt)).toEqual({ ok: false, reason: 'unknown' });
    await connection.hset(a.keys.message(parts(da.receipt).seq), 'rk', parts(da.receipt).nonce);
    expect(await a.stats()).toMatchObject({ inFlight: 1, acked: 0 });
    expect(await b.stats()).toMatchObject({ inFlight: 1, acked: 0 });
    expect(await a.ack(da.receipt)).toEqual({ ok: true });
    expect(await b.ack(db.receipt)).toEqual({ ok: true });
  });

  it('property: any string that is not the current receipt settles nothing', async () => {
    const { queue } = open();
    await queue.enqueue('x');
    const delivery = await oneDelivery(queue);
    const real = parts(delivery.receipt);
    const field = fc.oneof(
      fc.constantFrom(real.seq, String(Number(real.seq) + 1), '1', '0'),
      fc.nat({ max: 5 }).map(String),
    );
    const nonce = fc.oneof(
      fc.stringMatching(/^[\w-]{16}$/),
      fc
        .constant(real.nonce.slice(0, 15))
        .chain((head) => fc.constantFrom(...BASE64URL.split('')).map((c) => head + c)),
    );
    await fc.assert(
      fc.asyncProperty(
        field,
        field,
        nonce,
        fc.constantFrom(real.base, 'sluice:{x}'),
        async (s, n, r, b) => {
          const receipt = `${s}:${n}:${r}:${b}`;
          if (receipt === delivery.receipt) return;
          expect((await queue.extend(receipt, Number.POSITIVE_INFINITY)).ok).toBe(false);
          expect((await queue.ack(receipt)).ok).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
    expect(await queue.stats()).toMatchObject({ inFlight: 1, acked: 0 });
    expect(await queue.ack(delivery.receipt)).toEqual({ ok: true });
  });
});
