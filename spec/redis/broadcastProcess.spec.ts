/**
 * `redisBroadcast` across processes: three receiver processes join one channel; the test
 * process sends 2,000 messages and closes. Two receivers read as fast as their process can:
 * each gets the messages in order, and whatever it missed (if its process fell more than
 * `capacity` behind the sender's loop) was reported with the exact count, so got + skipped =
 * sent. One reads a single message, then pauses until everything was sent: it is told it
 * skipped exactly 2,000 - 1 - capacity messages and reads the last `capacity` in order.
 * Every receiver ends after what was sent. Waits on processes, never on durations.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { redisBroadcast } from '../../src/redis/index.js';
import { describeRedis, useRedisServer } from './redisServer.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const SENT = 2_000;
const CAPACITY = 50;

describeRedis('redisBroadcast across processes', () => {
  const redis = useRedisServer();
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    children.length = 0;
  });

  /** Starts a receiver; resolves with it and its output lines as they come. */
  function receiver(name: string, mode: 'fast' | 'slow') {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'broadcastWorker.ts'),
        redis.url,
        name,
        String(CAPACITY),
        mode,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'], cwd: join(here, '..', '..') },
    );
    children.push(child);
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let at = buffer.indexOf('\n');
      while (at >= 0) {
        lines.push(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
        at = buffer.indexOf('\n');
      }
      for (const wake of waiters.splice(0)) wake();
    });
    const line = async (match: (text: string) => boolean): Promise<string> => {
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) return found;
        if (child.exitCode !== null) throw new Error(`receiver exited (${child.exitCode})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          child.once('exit', () => resolve());
        });
      }
    };
    return { child, line };
  }

  it('every receiver process gets every message in order; a paused one is told exactly what it missed', async () => {
    const name = 'fan-out';
    const fast = [receiver(name, 'fast'), receiver(name, 'fast')];
    const slow = receiver(name, 'slow');
    await Promise.all([...fast, slow].map((r) => r.line((l) => l === 'ready')));

    const connection = redis.connect();
    const [tx] = redisBroadcast<number>({ connection, name, capacity: CAPACITY });
    await tx.send(1);
    await slow.line((l) => l === 'paused');
    for (let n = 2; n <= SENT; n++) await tx.send(n);
    await tx.close();
    slow.child.stdin?.write('go\n');

    const results = await Promise.all(
      [...fast, slow].map(async (r) => JSON.parse(await r.line((l) => l.startsWith('{')))),
    );
    const all = Array.from({ length: SENT }, (_, i) => i + 1);
    for (const { got, skips } of results.slice(0, 2) as Array<{ got: number[]; skips: number[] }>) {
      // A receiver that kept up got everything; one that fell behind (its process was slower
      // than the sender's loop) was told exactly how many it missed: nothing unaccounted for.
      expect(got.every((n, i) => i === 0 || n > got[i - 1]!)).toBe(true);
      expect(got[0]).toBe(1);
      expect(got.at(-1)).toBe(SENT);
      expect(got.length + skips.reduce((a, b) => a + b, 0)).toBe(SENT);
      if (skips.length === 0) expect(got).toEqual(all);
    }
    expect(results[2]).toEqual({
      got: [1, ...all.slice(SENT - CAPACITY)],
      skips: [SENT - 1 - CAPACITY],
    });
    expect(await connection.xlen(`sluice:{${name}}:b`)).toBeLessThanOrEqual(CAPACITY + 1);
    const codes = await Promise.all(
      [...fast, slow].map(async (r) => r.child.exitCode ?? (await once(r.child, 'exit'))[0]),
    );
    expect(codes).toEqual([0, 0, 0]);
  }, 60_000);
});
