/**
 * `sluice/amqp` throughput on the local RabbitMQ, beside raw amqplib doing the same work with
 * the same windows (target: at least 0.8x raw on both, since sluice should add little over the
 * client):
 * - publish with confirms: 20k small JSON messages, persistent and mandatory, through
 *   `AmqpPublisher.send` with `maxUnconfirmed` 256, beside a confirm channel whose publishes
 *   are held to 256 unconfirmed by a hand-written counter;
 * - consume with ack: 20k preloaded messages through `consumeAmqp` (concurrency 64, prefetch
 *   64, a no-op handler), beside `channel.consume` with prefetch 64 acking each message after a
 *   resolved promise (what a no-op async handler costs), written as amqplib's documentation
 *   shows it: `channel.ack(message)` per message. consumeAmqp sends the acks of one microtask
 *   turn as one `multiple` ack where it may, so a second, reference row sets it beside raw
 *   amqplib batching its acks by hand the same way (one `ack(last, true)` per turn, which a
 *   no-op handler finishing in order allows); that row has no target.
 *
 * The sides run five times, interleaved, on a fresh classic queue each; the median of each is
 * reported. When no server answers at AMQP_URL (default amqp://127.0.0.1), one row says so
 * and nothing else runs. Runs standalone with `npx tsx bench/amqp.bench.ts`, or through
 * `npm run bench -- amqp`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { pathToFileURL } from 'node:url';
import amqplib, { type ChannelModel } from 'amqplib';
import { lastValueFrom, take } from 'rxjs';
import { AmqpPublisher, consumeAmqp } from '../src/amqp/index.js';
import { formatTable, type Row, row } from './harness.js';

const group = 'amqp';
const MESSAGES = 20_000;
const WINDOW = 256;
const PREFETCH = 64;
const ROUNDS = 5;
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const payload = (n: number) => ({ n, kind: 'order.created', at: '2030-01-01T00:00:00.000Z' });

function reachable(): Promise<boolean> {
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

async function freshQueue(connection: ChannelModel): Promise<string> {
  const name = `sluice-bench-${randomUUID().slice(0, 8)}`;
  const channel = await connection.createChannel();
  await channel.assertQueue(name, { durable: true });
  await channel.close();
  return name;
}

async function dropQueue(connection: ChannelModel, name: string): Promise<void> {
  const channel = await connection.createChannel();
  await channel.deleteQueue(name);
  await channel.close();
}

async function countOf(connection: ChannelModel, name: string): Promise<number> {
  const channel = await connection.createChannel();
  const { messageCount } = await channel.checkQueue(name);
  await channel.close();
  return messageCount;
}

/** msg/s of `AmqpPublisher.send`, all sends issued at once, `WINDOW` unconfirmed. */
async function publishSluice(connection: ChannelModel, queue: string): Promise<number> {
  const publisher = new AmqpPublisher<ReturnType<typeof payload>>({
    connection,
    exchange: '',
    routingKey: queue,
    maxUnconfirmed: WINDOW,
  });
  await publisher.send(payload(-1)); // open the channel outside the timing
  const start = performance.now();
  const sends: Promise<void>[] = [];
  for (let n = 0; n < MESSAGES; n++) sends.push(publisher.send(payload(n)));
  await Promise.all(sends);
  const seconds = (performance.now() - start) / 1000;
  await publisher.close();
  return MESSAGES / seconds;
}

/** msg/s of a confirm channel with a hand-written window of `WINDOW` unconfirmed. */
async function publishRaw(connection: ChannelModel, queue: string): Promise<number> {
  const channel = await connection.createConfirmChannel();
  const options = { persistent: true, mandatory: true, contentType: 'application/json' };
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let confirmed = 0;
    let waitingForDrain = false;
    const pump = () => {
      while (inFlight < WINDOW && next < MESSAGES && !waitingForDrain) {
        const body = Buffer.from(JSON.stringify(payload(next++)));
        inFlight++;
        const ok = channel.publish('', queue, body, options, (err: unknown) => {
          if (err) {
            reject(err);
            return;
          }
          inFlight--;
          if (++confirmed === MESSAGES) resolve();
          else pump();
        });
        if (!ok) {
          waitingForDrain = true;
          channel.once('drain', () => {
            waitingForDrain = false;
            pump();
          });
        }
      }
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  await channel.close();
  return MESSAGES / seconds;
}

async function preload(connection: ChannelModel, queue: string): Promise<void> {
  await publishRaw(connection, queue);
  const count = await countOf(connection, queue);
  if (count !== MESSAGES) throw new Error(`preloaded ${count} messages, expected ${MESSAGES}`);
}

/** msg/s of `consumeAmqp` acking `MESSAGES` preloaded messages. */
async function consumeSluice(connection: ChannelModel, queue: string): Promise<number> {
  await preload(connection, queue);
  const start = performance.now();
  await lastValueFrom(
    consumeAmqp<ReturnType<typeof payload>>(
      { connection, queue, prefetch: PREFETCH },
      async () => {},
      { concurrency: PREFETCH },
    ).pipe(take(MESSAGES)),
  );
  const seconds = (performance.now() - start) / 1000;
  return MESSAGES / seconds;
}

/** msg/s of `channel.consume` with prefetch, acking each message after a resolved promise. */
async function consumeRaw(connection: ChannelModel, queue: string): Promise<number> {
  await preload(connection, queue);
  const channel = await connection.createChannel();
  await channel.prefetch(PREFETCH);
  const start = performance.now();
  let acked = 0;
  let tag = '';
  await new Promise<void>((resolve) => {
    void channel
      .consume(
        queue,
        (message) => {
          if (message === null) return;
          JSON.parse(message.content.toString('utf8'));
          void Promise.resolve().then(() => {
            channel.ack(message);
            if (++acked === MESSAGES) resolve();
          });
        },
        { noAck: false },
      )
      .then((reply) => {
        tag = reply.consumerTag;
      });
  });
  const seconds = (performance.now() - start) / 1000;
  await channel.cancel(tag);
  await channel.close();
  return MESSAGES / seconds;
}

/** As `consumeRaw`, but the acks of one microtask turn leave as one `ack(last, true)`. */
async function consumeRawBatched(connection: ChannelModel, queue: string): Promise<number> {
  await preload(connection, queue);
  const channel = await connection.createChannel();
  await channel.prefetch(PREFETCH);
  const start = performance.now();
  let acked = 0;
  let last: amqplib.ConsumeMessage | undefined;
  let tag = '';
  const flush = () => {
    if (last !== undefined) channel.ack(last, true);
    last = undefined;
  };
  await new Promise<void>((resolve) => {
    void channel
      .consume(
        queue,
        (message) => {
          if (message === null) return;
          JSON.parse(message.content.toString('utf8'));
          void Promise.resolve().then(() => {
            if (last === undefined) queueMicrotask(flush);
            last = message; // handlers finish in delivery order: every earlier one is done
            if (++acked === MESSAGES) resolve();
          });
        },
        { noAck: false },
      )
      .then((reply) => {
        tag = reply.consumerTag;
      });
  });
  const seconds = (performance.now() - start) / 1000;
  await channel.cancel(tag);
  await channel.close();
  return MESSAGES / seconds;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

type Side = (c: ChannelModel, q: string) => Promise<number>;

/** Median msg/s of each side, the sides taking turns round after round. */
async function measure<K extends string>(
  connection: ChannelModel,
  sides: Record<K, Side>,
): Promise<Record<K, number>> {
  const names = Object.keys(sides) as K[];
  const rates = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const queue = await freshQueue(connection);
      try {
        rates.get(name)?.push(await sides[name](connection, queue));
      } finally {
        await dropQueue(connection, queue);
      }
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(rates.get(name) ?? [])])) as Record<
    K,
    number
  >;
}

export async function run(): Promise<Row[]> {
  if (!(await reachable())) {
    return [
      {
        group,
        name: 'sluice/amqp',
        unit: 'msg/s',
        value: Number.NaN,
        baseline: 'raw amqplib',
        baselineValue: Number.NaN,
        ratio: Number.NaN,
        note: `skipped: no RabbitMQ answers at ${url} (rabbitmq-server -detached)`,
      },
    ];
  }
  const connection = await amqplib.connect(url);
  try {
    const publish = await measure(connection, { raw: publishRaw, sluice: publishSluice });
    const consume = await measure(connection, {
      raw: consumeRaw,
      sluice: consumeSluice,
      batched: consumeRawBatched,
    });
    return [
      row({
        group,
        name: `AmqpPublisher.send with confirms (${WINDOW} unconfirmed)`,
        unit: 'msg/s',
        value: publish.sluice,
        baseline: `amqplib confirm channel, hand-written window of ${WINDOW}`,
        baselineValue: publish.raw,
        target: '>= 0.8x',
        note: `${MESSAGES / 1000}k persistent, mandatory JSON messages; median of ${ROUNDS} interleaved runs`,
      }),
      row({
        group,
        name: `consumeAmqp ack (prefetch ${PREFETCH}, concurrency ${PREFETCH})`,
        unit: 'msg/s',
        value: consume.sluice,
        baseline: `amqplib consume, prefetch ${PREFETCH}, ack after a resolved promise`,
        baselineValue: consume.raw,
        target: '>= 0.8x',
        note: `${MESSAGES / 1000}k preloaded messages, a no-op handler; median of ${ROUNDS} interleaved runs`,
      }),
      row({
        group,
        name: `consumeAmqp ack (prefetch ${PREFETCH}, concurrency ${PREFETCH}), reference`,
        unit: 'msg/s',
        value: consume.sluice,
        baseline: `amqplib consume, prefetch ${PREFETCH}, acks batched by hand (multiple)`,
        baselineValue: consume.batched,
        note: `the same runs as the row above; raw acks batched as consumeAmqp batches them, no target`,
      }),
    ];
  } finally {
    await connection.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().then(
    (rows) => console.log(formatTable(rows)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
