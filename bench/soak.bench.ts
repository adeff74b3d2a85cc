/**
 * Soak: millions of messages through each part with one long-lived `AbortSignal` passed to every
 * waiting call, as a service that shares one shutdown signal does. Every wait registers on the
 * signal and must leave it when it settles; the heap after a full GC must stay flat (target:
 * growth within 5 MB). The default is 5M messages per part (a few minutes for all five on a
 * 2-core machine); `SOAK_MESSAGES=1000000 npm run bench -- soak` runs a shorter one.
 * @module
 */
import { broadcast, MessageQueue, mpmc, mpsc, watch } from '../src/index.js';
import { canMeasureHeap, type Row, row, settledHeap } from './harness.js';

const group = 'soak';
const N = Number(process.env.SOAK_MESSAGES ?? 5_000_000);
const WARMUP = 50_000;
const MB = 1024 * 1024;

type Part = (signal: AbortSignal, n: number) => Promise<void>;

const parts: Array<[string, Part]> = [
  [
    'mpsc send → recv (capacity 64)',
    async (signal, n) => {
      const [tx, rx] = mpsc<number>(64);
      const consumer = (async () => {
        for (let i = 0; i < n; i++) await rx.recv({ signal });
      })();
      for (let i = 0; i < n; i++) await tx.send(i, { signal });
      await consumer;
    },
  ],
  [
    'mpmc send → recv (capacity 64)',
    async (signal, n) => {
      const [tx, rx] = mpmc<number>(64);
      const consumer = (async () => {
        for (let i = 0; i < n; i++) await rx.recv({ signal });
      })();
      for (let i = 0; i < n; i++) await tx.send(i, { signal });
      await consumer;
    },
  ],
  [
    'broadcast recv waits, then send',
    async (signal, n) => {
      const [tx, rx] = broadcast<number>(16);
      for (let i = 0; i < n; i++) {
        const next = rx.recv({ signal });
        tx.send(i);
        await next;
      }
    },
  ],
  [
    'watch changed waits, then send',
    async (signal, n) => {
      const [tx, rx] = watch(0);
      for (let i = 0; i < n; i++) {
        const next = rx.changed({ signal });
        tx.send(i + 1);
        await next;
      }
    },
  ],
  [
    'MessageQueue send → receive({ wait }) → ack (capacity 64)',
    async (signal, n) => {
      const queue = new MessageQueue<number>({ capacity: 64 });
      const consumer = (async () => {
        for (let i = 0; i < n; ) {
          const batch = await queue.receive({ max: 32, wait: Number.POSITIVE_INFINITY, signal });
          for (const delivery of batch) queue.ack(delivery.receipt);
          i += batch.length;
        }
      })();
      for (let i = 0; i < n; i++) await queue.send(i, { signal });
      await consumer;
      await queue.close();
    },
  ],
];

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const shutdown = new AbortController(); // never aborted: lives as long as the service
  for (const [name, part] of parts) {
    if (!canMeasureHeap()) {
      rows.push(
        row({
          group,
          name: `${name}, ${N} msgs, one signal`,
          unit: 'MB',
          value: Number.NaN,
          baseline: 'target: flat within 5 MB',
          baselineValue: 5,
          higherIsBetter: false,
          note: 'needs node --expose-gc',
        }),
      );
      continue;
    }
    await part(shutdown.signal, WARMUP);
    const before = settledHeap();
    const started = performance.now();
    await part(shutdown.signal, N);
    const seconds = (performance.now() - started) / 1000;
    const grown = (settledHeap() - before) / MB;
    rows.push(
      row({
        group,
        name: `${name}, ${N} msgs, one signal`,
        unit: 'MB',
        value: grown,
        baseline: 'target: flat within 5 MB',
        baselineValue: 5,
        higherIsBetter: false,
        target: '<= 1x',
        note: `heap growth after a full GC; ${Math.round(N / seconds)} msg/s`,
      }),
    );
  }
  return rows;
}
