/**
 * `npm run demo -- --amqp URL` against the real broker: the payment queue runs on RabbitMQ,
 * the accounting still balances, and the queue the run declared is gone after it. A broker
 * that cannot be reached is an exit with status 1 and the URL in the message.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { expect, it } from 'vitest';
import { amqpUrl, describeAmqp } from './amqpServer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const exec = promisify(execFile);
const demo = (...args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', join(root, 'demo', 'main.ts'), ...args], {
    cwd: root,
  });

/** Whether the broker knows a queue of this name (checked on a channel of its own). */
async function queueExists(name: string): Promise<boolean> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    return await channel.checkQueue(name).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close();
  }
}

describeAmqp('npm run demo -- --amqp', () => {
  it('runs the payment queue on RabbitMQ, balances, and deletes its queues on exit', async () => {
    const { stdout } = await demo('--amqp', amqpUrl, '--count', '150', '--rate', '0');
    const queue = /payment queue: RabbitMQ queue (sluice-demo-[0-9a-f]+) at /.exec(stdout)?.[1];
    expect(queue, stdout).toBeDefined();
    expect(stdout).toMatch(
      /^balanced: produced 150 = processed \d+ \+ dropped \d+ \+ dead-lettered \d+$/m,
    );
    expect(await queueExists(queue as string)).toBe(false);
    expect(await queueExists(`${queue}.dlq`)).toBe(false);
  }, 60_000);
});

it('npm run demo -- --amqp exits with 1, naming the URL, when no broker answers', async () => {
  const failed = await demo('--amqp', 'amqp://127.0.0.1:1', '--count', '5').then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  expect(failed?.code).toBe(1);
  expect(failed?.stderr).toMatch(/^cannot reach RabbitMQ at amqp:\/\/127\.0\.0\.1:1/);
}, 60_000);
