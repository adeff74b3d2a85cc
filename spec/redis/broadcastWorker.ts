/**
 * A receiver process for spec/redis/broadcastProcess.spec.ts:
 *   node --import tsx spec/redis/broadcastWorker.ts <redis url> <channel> <capacity> <fast|slow>
 * Joins the channel, prints "ready" once it has its place at the tail, and on the channel's end
 * prints one JSON line: the messages it got, and the counts `onLag` reported. A `slow`
 * receiver reads one message, then waits for a line on stdin before reading on (so it falls
 * behind by exactly what was sent meanwhile).
 */
import { Redis } from 'ioredis';
import { redisBroadcast } from '../../src/redis/index.js';

const [url, name, capacity, mode] = process.argv.slice(2);
if (url === undefined || name === undefined || capacity === undefined || mode === undefined) {
  throw new Error('usage: broadcastWorker.ts <url> <channel> <capacity> <fast|slow>');
}
const connection = new Redis(url);
const skips: number[] = [];
const [, rx] = redisBroadcast<number>({
  connection,
  name,
  capacity: Number(capacity),
  onLag: (skipped) => skips.push(skipped),
});
const got: number[] = [];
const report = () => {
  connection.disconnect();
  // stdin stays open for the slow mode: exit once the line is out
  process.stdout.write(`${JSON.stringify({ got, skips })}\n`, () => process.exit(0));
};

if (mode === 'fast') {
  rx.subscribe({ next: (n) => got.push(n), complete: report, error: (e) => console.error(e) });
  await connection.ping(); // the receiver's join read went first on this connection
  process.stdout.write('ready\n');
} else {
  const loop = rx[Symbol.asyncIterator]();
  await connection.ping();
  process.stdout.write('ready\n');
  const first = await loop.next();
  if (!first.done) got.push(first.value);
  process.stdout.write('paused\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  for (;;) {
    const next = await loop.next();
    if (next.done) break;
    got.push(next.value);
  }
  report();
}
