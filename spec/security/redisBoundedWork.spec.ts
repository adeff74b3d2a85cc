/**
 * Every script of RedisQueue does bounded work: a targeted redrive or purge finds its dead
 * letters through the index (whatever the number of dead letters), whole-queue forms and
 * deadLetters() read pages, receive reads at most RECEIVE_CAP entries, eviction after a
 * capacity drop proceeds a step per call. The work is shown by the commands the scripts run
 * (MONITOR lists each command a script sends), never by time.
 */
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RedisQueue, type RedisQueueOptions } from '../../src/redis/index.js';
import { DEAD_PAGE, RECEIVE_CAP } from '../../src/redis/scripts.js';
import { ManualClock } from '../queue/manualClock.js';
import { describeRedis, useRedisServer } from '../redis/redisServer.js';

/** Dead letters as the scripts write them (entry + index), `count` at a time per script call. */
const FILL = `
for n = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  local id = 'filler-' .. n
  local e = redis.call('XADD', KEYS[1], '*', 'k', tostring(1000000 + n), 'i', id, 'p', '"x"',
    'a', '1', 'le', '', 'r', 'nacked', 't', '0', 'd', '0', 'w', '1')
  if ARGV[3] == '1' then redis.call('HSET', KEYS[2], id, e) end
end
return 0
`;

describeRedis('RedisQueue: bounded work inside Redis', () => {
  const redis = useRedisServer();
  let opened: RedisQueue<unknown>[] = [];
  let count = 0;

  beforeEach(async () => {
    await redis.flush();
  });
  afterEach(async () => {
    for (const queue of opened) await queue.close();
    opened = [];
  });

  function open<T = string>(options: Partial<RedisQueueOptions<T>> = {}) {
    const connection = redis.connect();
    const clock = new ManualClock();
    const queue = new RedisQueue<T>({
      connection,
      name: `bounded${++count}`,
      clock: 'scheduler',
      scheduler: clock,
      maxAttempts: 1,
      ...options,
    });
    opened.push(queue as RedisQueue<unknown>);
    return { connection, queue };
  }

  async function fill(connection: Redis, queue: RedisQueue<unknown>, n: number, index = true) {
    for (let from = 1; from <= n; from += 10_000) {
      const to = Math.min(n, from + 9_999);
      await connection.eval(
        FILL,
        2,
        queue.keys.dead,
        queue.keys.deadIndex,
        from,
        to,
        index ? 1 : 0,
      );
    }
  }

  async function deadLetter(queue: RedisQueue<string>, id: string): Promise<void> {
    await queue.enqueue(id, { id });
    const [delivery] = await queue.receive();
    expect(await queue.nack(delivery!.receipt)).toEqual({ ok: true, deadLettered: true });
  }

  /** The commands scripts ran during `body` (MONITOR, source "lua"). */
  async function scriptCommands(body: () => Promise<void>): Promise<string[][]> {
    const watcher = redis.connect();
    const monitor = await watcher.monitor();
    const seen: string[][] = [];
    let marked: () => void = () => {};
    const marker = new Promise<void>((resolve) => {
      marked = resolve;
    });
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args[0]?.toLowerCase() === 'echo' && args[1] === 'end-of-body') marked();
      else if (source.includes('lua')) seen.push(args.map(String));
    });
    await body();
    await redis.connect().echo('end-of-body');
    await marker;
    monitor.disconnect();
    return seen;
  }

  /** An XRANGE that can read more than `most` entries. */
  function wideReads(commands: string[][], most: number): string[][] {
    return commands.filter((args) => {
      if (args[0]?.toLowerCase() !== 'xrange') return false;
      if (args[2] === args[3]) return false; // one entry, by its id
      const at = args.findIndex((a) => a.toLowerCase() === 'count');
      return at < 0 || Number(args[at + 1]) > most;
    });
  }

  it('a targeted redrive among 100k dead letters runs the same few commands as among none', async () => {
    const { connection, queue } = open<string>({
      deadLetter: { capacity: Number.POSITIVE_INFINITY },
    });
    const other = open<string>({
      deadLetter: { capacity: Number.POSITIVE_INFINITY },
    }).queue;
    await deadLetter(queue, 'target');
    await deadLetter(other, 'target');
    await fill(connection, queue as RedisQueue<unknown>, 100_000);
    expect(await connection.xlen(queue.keys.dead)).toBe(100_001);

    const big = await scriptCommands(async () => {
      expect(await queue.redrive(['target'])).toEqual({ redriven: ['target'], skipped: [] });
    });
    const small = await scriptCommands(async () => {
      expect(await other.redrive(['target'])).toEqual({ redriven: ['target'], skipped: [] });
    });
    expect(wideReads(big, 0)).toEqual([]);
    expect(big.map((args) => args[0]!.toLowerCase())).toEqual(
      small.map((args) => args[0]!.toLowerCase()),
    );
    expect(big.length).toBeLessThan(40);
    expect(await connection.xlen(queue.keys.dead)).toBe(100_000);
    const [delivery] = await queue.receive();
    expect(delivery?.id).toBe('target');
  }, 60_000);

  it('a targeted purge reads only its own dead letters; a missing id reads none', async () => {
    const { connection, queue } = open<string>({ deadLetter: { capacity: 10_000 } });
    await deadLetter(queue, 'a');
    await fill(connection, queue as RedisQueue<unknown>, 5_000);
    await deadLetter(queue, 'b');
    const commands = await scriptCommands(async () => {
      const purged = await queue.purgeDeadLetters(['b', 'nobody', 'a']);
      expect(purged.map((letter) => letter.id).sort()).toEqual(['a', 'b']);
    });
    expect(wideReads(commands, 0)).toEqual([]);
    expect(await connection.xlen(queue.keys.dead)).toBe(5_000);
    expect(await connection.hexists(queue.keys.deadIndex, 'a')).toBe(0);
    expect(await queue.redrive(['a'])).toEqual({
      redriven: [],
      skipped: [{ id: 'a', reason: 'missing' }],
    });
  });

  it('whole-queue redrive, purge and deadLetters() read pages, and reach every dead letter', async () => {
    const { connection, queue } = open<string>({
      deadLetter: { capacity: 10_000 },
      capacity: 10_000,
    });
    const n = DEAD_PAGE * 2 + 7;
    await fill(connection, queue as RedisQueue<unknown>, n);
    let letters = 0;
    const reads = await scriptCommands(async () => {
      letters = (await queue.deadLetters()).length;
    });
    expect(letters).toBe(n);
    expect(wideReads(reads, DEAD_PAGE)).toEqual([]);

    const redrives = await scriptCommands(async () => {
      const result = await queue.redrive();
      expect(result.redriven.length).toBe(n);
    });
    expect(wideReads(redrives, DEAD_PAGE)).toEqual([]);
    expect((await queue.stats()).visible).toBe(n);

    await connection.del(queue.keys.dead, queue.keys.deadIndex);
    await fill(connection, queue as RedisQueue<unknown>, n);
    const purges = await scriptCommands(async () => {
      expect((await queue.purgeDeadLetters()).length).toBe(n);
    });
    expect(wideReads(purges, DEAD_PAGE)).toEqual([]);
    expect(await connection.xlen(queue.keys.dead)).toBe(0);
  });

  it('dead letters stored before the index are indexed a page per call, then found', async () => {
    const { connection, queue } = open<string>({ deadLetter: { capacity: 10_000 } });
    await queue.stats();
    await fill(connection, queue as RedisQueue<unknown>, 2_500, false);
    await connection.hdel(queue.keys.counters, 'xi');
    const commands = await scriptCommands(async () => {
      expect(await queue.redrive(['filler-2400'])).toEqual({
        redriven: ['filler-2400'],
        skipped: [],
      });
    });
    expect(wideReads(commands, 1_000)).toEqual([]);
    expect(await connection.hget(queue.keys.counters, 'xi')).toBe('1');
    expect(await connection.hlen(queue.keys.deadIndex)).toBe(2_499);
  });

  it('receive reads at most RECEIVE_CAP entries per call, whatever max asks', async () => {
    const { queue } = open<string>({ capacity: 5_000 });
    await Promise.all(Array.from({ length: RECEIVE_CAP + 5 }, (_, i) => queue.enqueue(`m${i}`)));
    const first = await queue.receive({ max: 1_000_000 });
    expect(first.length).toBe(RECEIVE_CAP);
    expect((await queue.receive({ max: 1_000_000 })).length).toBe(5);
  });

  it('evicting dead letters beyond the capacity is done a step per call', async () => {
    const { connection, queue } = open<string>({ deadLetter: { capacity: 10 } });
    await queue.stats();
    await fill(connection, queue as RedisQueue<unknown>, 450);
    await deadLetter(queue, 'last');
    // one nack evicted a bounded step (100), not 441
    expect(await connection.xlen(queue.keys.dead)).toBe(351);
    const lengths: number[] = [];
    for (let i = 0; i < 4; i++) {
      await queue.stats();
      lengths.push(await connection.xlen(queue.keys.dead));
    }
    expect(lengths).toEqual([251, 151, 51, 10]);
    expect(await connection.hlen(queue.keys.deadIndex)).toBe(10);
    expect((await queue.deadLetters()).at(-1)?.id).toBe('last');
  });
});
