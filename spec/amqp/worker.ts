/**
 * A worker process for spec/amqp/multiProcess.spec.ts:
 *   node --import tsx spec/amqp/worker.ts <amqp url> <queue> <dead-letter exchange>
 * Consumes the queue with `consumeAmqp` and writes one line per event to stdout, which the
 * test reads: `run <n> <attempt>` when a handler starts, `done <n>` when it succeeded (written
 * just before the consumer acks it). Writes to a pipe are synchronous on Linux, so a line
 * written before a SIGKILL reaches the test. Prints "ready" once consuming; SIGTERM drains
 * (running handlers finish and are acked) and exits 0.
 */
import amqplib from 'amqplib';
import { consumeAmqp } from '../../src/amqp/index.js';

const [url, queue, deadLetterExchange] = process.argv.slice(2);
if (url === undefined || queue === undefined || deadLetterExchange === undefined) {
  throw new Error('usage: worker.ts <url> <queue> <dead-letter exchange>');
}

const connection = await amqplib.connect(url);
const drain = new AbortController();
process.on('SIGTERM', () => drain.abort());

consumeAmqp<{ n: number }>(
  {
    connection,
    queue,
    prefetch: 16,
    deadLetter: { exchange: deadLetterExchange, routingKey: queue },
  },
  async (delivery) => {
    process.stdout.write(`run ${delivery.payload.n} ${delivery.attempt}\n`);
    await new Promise((resolve) => setImmediate(resolve)); // the work
    process.stdout.write(`done ${delivery.payload.n}\n`);
  },
  { concurrency: 8, maxAttempts: 5, drain: drain.signal },
).subscribe({
  error: (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
  complete: () => {
    void connection.close().then(() => process.exit(0));
  },
});
process.stdout.write('ready\n');
