/**
 * What `RedisQueue` keeps in Redis once a message is acknowledged: a message with a caller's id
 * keeps its record to deduplicate that id; one without leaves no record, only one field of its
 * range's acknowledgement hash, from which late receipts and resent calls get their true
 * answers for at most a minute (or to the end of the deduplication window, if sooner).
 */
import { expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { ManualClock } from '../queue/manualClock.js';
import { closeAfterEach, describeRedis, useRedisServer } from './redisServer.js';

describeRedis('RedisQueue: memory kept for finished messages', () => {
  const redis = useRedisServer();
  const opened = closeAfterEach();
  let queues = 0;

  function open(options: Partial<RedisQueueOptions<string>> = {}) {
    const connection = redis.connect();
    const clock = new ManualClock();
    const queue = new RedisQueue<string>({
      connection,
      name: `retention-${++queues}`,
      clock: 'scheduler',
      scheduler: clock,
      ...options,
    });
    opened.push(queue);
    return { connection, clock, queue };
  }

  const seqOf = (id: string) => id.slice(1);

  it('with dedupWindow Infinity, a message without a caller id leaves no record after its ack, and its ack stays answerable at most a minute; one with an id keeps its record to deduplicate', async () => {
    const { connection, queue } = open({ dedupWindow: Number.POSITIVE_INFINITY });
    const generated = await queue.enqueue('anonymous');
    await queue.enqueue('named', { id: 'order-1' });
    const deliveries = await queue.receive({ max: 2 });
    expect(deliveries).toHaveLength(2);
    for (const delivery of deliveries)
      expect(await queue.ack(delivery.receipt)).toEqual({ ok: true });
    expect(generated.ok && generated.id).toMatch(/^#\d+$/);
    const seq = seqOf(generated.ok ? generated.id : '');
    expect(await connection.exists(queue.keys.message(seq))).toBe(0);
    const ttl = await connection.pttl(queue.keys.acked(seq));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await connection.hlen(queue.keys.acked(seq))).toBe(1);
    // the named one keeps its record, without a time limit (the window is Infinity)
    const named = deliveries.find((d) => d.id === 'order-1');
    expect(named).toBeDefined();
    expect(await connection.pttl(queue.keys.message(named!.receipt.split(':')[0]!))).toBe(-1);
    expect(await queue.enqueue('again', { id: 'order-1' })).toMatchObject({
      ok: false,
      reason: 'duplicate',
    });
    // a resent ack of the message without an id still gets its true answer within that minute
    const anonymous = deliveries.find((d) => d.id === generated.id);
    expect(await queue.ack(anonymous!.receipt)).toEqual({ ok: false, reason: 'acked' });
  });

  it('late receipts of a message acknowledged without an id: its own gets acked from every call, an earlier delivery’s stale, a forged one unknown', async () => {
    const { queue } = open({ visibilityTimeout: 1_000 });
    await queue.enqueue('m');
    const [first] = await queue.receive({ max: 1 });
    expect(await queue.nack(first!.receipt)).toEqual({ ok: true, deadLettered: false });
    const [second] = await queue.receive({ max: 1 });
    expect(second!.attempt).toBe(2);
    expect(await queue.ack(second!.receipt)).toEqual({ ok: true });

    const acked = { ok: false, reason: 'acked' };
    expect(await queue.ack(second!.receipt)).toEqual(acked);
    expect(await queue.nack(second!.receipt)).toEqual(acked);
    expect(await queue.release(second!.receipt)).toEqual(acked);
    expect(await queue.extend(second!.receipt, 1_000)).toEqual(acked);
    const stale = { ok: false, reason: 'stale' };
    expect(await queue.ack(first!.receipt)).toEqual(stale);
    expect(await queue.nack(first!.receipt)).toEqual(stale);
    // the right message and delivery, another random part: nothing this queue handed out
    const [seq, delivery, nonce, ...base] = second!.receipt.split(':');
    const forged = [
      seq,
      delivery,
      `${nonce!.slice(0, -1)}${nonce!.endsWith('a') ? 'b' : 'a'}`,
      ...base,
    ];
    expect(await queue.ack(forged.join(':'))).toEqual({ ok: false, reason: 'unknown' });
    // a later delivery number than any handed out
    const ahead = [seq, String(Number(delivery) + 1), nonce, ...base];
    expect(await queue.ack(ahead.join(':'))).toEqual({ ok: false, reason: 'unknown' });
    expect(await queue.stats()).toMatchObject({ acked: 1, nacked: 1, visible: 0, inFlight: 0 });
  });

  it('the acks of messages whose numbers share all but their last two digits share one hash, written once per call', async () => {
    const { connection, queue } = open({ capacity: 1_000 });
    const ids = await Promise.all(Array.from({ length: 150 }, (_, n) => queue.enqueue(`m${n}`)));
    const deliveries = await queue.receive({ max: 150 });
    expect(deliveries).toHaveLength(150);
    const answers = await Promise.all(deliveries.map((d) => queue.ack(d.receipt)));
    expect(answers.every((a) => a.ok)).toBe(true);
    const seqs = ids.map((r) => seqOf(r.ok ? r.id : ''));
    const ranges = new Map<string, number>();
    for (const seq of seqs) {
      expect(await connection.exists(queue.keys.message(seq))).toBe(0);
      const key = queue.keys.acked(seq);
      ranges.set(key, (ranges.get(key) ?? 0) + 1);
    }
    expect([...ranges.values()]).toEqual([99, 51]);
    for (const [key, count] of ranges) {
      expect(await connection.hlen(key)).toBe(count);
      expect(await connection.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('an ack within the deduplication window keeps its answer only to the window’s end; past the window, nothing is kept', async () => {
    const { connection, clock, queue } = open({ dedupWindow: 30_000, visibilityTimeout: 60_000 });
    const early = await queue.enqueue('early');
    const late = await queue.enqueue('late');
    const [a, b] = await queue.receive({ max: 2 });
    clock.advance(10_000);
    expect(await queue.ack(a!.receipt)).toEqual({ ok: true });
    // 20 s of the window left (the hash's expiry is Redis's own clock; less has passed there)
    const ttl = await connection.pttl(queue.keys.acked(seqOf(early.ok ? early.id : '')));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(20_000);
    clock.advance(25_000);
    expect(await queue.ack(b!.receipt)).toEqual({ ok: true });
    const seq = seqOf(late.ok ? late.id : '');
    expect(await connection.exists(queue.keys.message(seq))).toBe(0);
    expect(await connection.hexists(queue.keys.acked(seq), seq)).toBe(0);
    // its window is over: nothing is known of it any more
    expect(await queue.ack(b!.receipt)).toEqual({ ok: false, reason: 'unknown' });
    expect(await queue.ack(a!.receipt)).toEqual({ ok: false, reason: 'acked' });
  });
});
