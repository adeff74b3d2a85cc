/**
 * The RabbitMQ server the sluice/amqp specs run against: AMQP_URL, or amqp://127.0.0.1:5672
 * (guest/guest). Unlike redis-server, RabbitMQ is a system service, not started per file:
 * `.ci/run` starts it (or installs it) before the tests. When no server answers, the suites
 * are skipped with the reason, unless SLUICE_REQUIRE_RABBITMQ=1 (set by .ci/run), which turns
 * the skip into a failing test. Every name a test declares is unique to the run and deleted
 * after it.
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import amqplib, { type ChannelModel } from 'amqplib';
import { afterAll, afterEach, describe, it } from 'vitest';

export { waitFor } from '../redis/redisServer.js';

export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const required = process.env.SLUICE_REQUIRE_RABBITMQ === '1';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 5672) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const serverUp = await reachable(amqpUrl);

/** `describe` when RabbitMQ answers; otherwise a skip with a reason (or a failure in CI). */
export function describeAmqp(name: string, body: () => void): void {
  if (serverUp) {
    describe(name, body);
    return;
  }
  if (required) {
    describe(name, () => {
      it('needs RabbitMQ', () => {
        throw new Error(
          `no RabbitMQ answers at ${amqpUrl}, and SLUICE_REQUIRE_RABBITMQ=1 says these tests must run (rabbitmq-server -detached, or apt-get install -y rabbitmq-server)`,
        );
      });
    });
    return;
  }
  describe.skip(
    `${name} (skipped: no RabbitMQ at ${amqpUrl}; start one with rabbitmq-server -detached, or set AMQP_URL)`,
    body,
  );
}

/**
 * Per-file connections and unique names. `connect()` opens a connection closed after the
 * file; `name(tag)` is a queue or exchange name unique to this run, deleted after each test
 * (queues and exchanges alike).
 */
export function useAmqp() {
  const connections: ChannelModel[] = [];
  let names: string[] = [];
  const run = randomUUID().slice(0, 8);
  let counter = 0;
  afterEach(async () => {
    if (names.length === 0) return;
    const connection = await amqplib.connect(amqpUrl);
    for (const name of names) {
      for (const kind of ['deleteQueue', 'deleteExchange'] as const) {
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        await channel[kind](name).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
    await connection.close();
    names = [];
  });
  afterAll(async () => {
    for (const connection of connections) await connection.close().catch(() => undefined);
  });
  return {
    async connect(): Promise<ChannelModel> {
      const connection = await amqplib.connect(amqpUrl);
      connection.on('error', () => {});
      connections.push(connection);
      return connection;
    },
    name(tag: string): string {
      const name = `sluice-test-${run}-${tag}-${++counter}`;
      names.push(name);
      return name;
    },
    /** Registers a name the test declared by other means (a topology's derived names). */
    track(...more: string[]): void {
      names.push(...more);
    },
  };
}
