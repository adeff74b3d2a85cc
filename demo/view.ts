import type { PoolSnapshot } from '../src/index.js';
import type { DemoOptions } from './options.js';
import type { Accounting, Snapshot } from './pipeline.js';

const n = (value: number) => value.toLocaleString('en-US');

function bar(done: number, total: number, width = 32): string {
  const share = total === 0 ? 1 : Math.min(1, done / total);
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
}

const ms = (value: number) => `${value.toFixed(1)}ms`;
const mean = (total: number, count: number) => (count === 0 ? 0 : total / count);

/**
 * One pool's live figures: jobs running, waiting, done and failed, and how long they waited
 * and ran (mean and longest so far).
 */
export function renderPool(label: string, p: PoolSnapshot): string {
  return (
    `${label.padEnd(9)} running ${n(p.running)}  waiting ${n(p.waiting)}  done ${n(p.done)}  failed ${n(p.failed)}` +
    `  wait ${ms(mean(p.waited.total, p.waited.count))} (max ${ms(p.waited.max)})` +
    `  run ${ms(mean(p.ran.total, p.ran.count))} (max ${ms(p.ran.max)})`
  );
}

/** One pool's figures as `name=running/waiting/done/failed` and its mean run time, for logs. */
function plainPool(label: string, p: PoolSnapshot): string {
  return `${label}=${p.running}/${p.waiting}/${p.done}/${p.failed} ${label}Run=${ms(mean(p.ran.total, p.ran.count))}`;
}

/**
 * What the header says about the run: still running, draining after Ctrl-C, or over (`done`
 * once the run has finished, drained or not).
 */
function phase(s: Snapshot, done: boolean): string {
  if (done) return s.stopping ? '  stopped: drained' : '  finished';
  return s.stopping ? '  draining (Ctrl-C again to force exit)' : '';
}

/**
 * The live view's lines: progress, counters, depths and the latest notable events. `done`
 * marks the last frame, drawn once the run has finished.
 */
export function renderLive(s: Snapshot, options: DemoOptions, done = false): string[] {
  const c = s.counters;
  const settled = c.processed + c.dropped + c.deadLettered;
  return [
    `sluice demo  policy=${options.policy} capacity=${options.capacity} seed=${options.seed}` +
      `  ${(s.elapsedMs / 1000).toFixed(1)}s${phase(s, done)}`,
    `${bar(settled, options.count)}  ${n(settled)}/${n(options.count)} settled`,
    `produced ${n(c.produced)}  in flight ${n(s.inFlight)}  processed ${n(c.processed)}  dropped ${n(c.dropped)}`,
    `retried ${n(c.retried)}  dead-lettered ${n(c.deadLettered)}  deduplicated ${n(c.deduplicated)}  stale acks ${n(c.staleAcks)}`,
    `orders channel ${n(s.channel.size)}/${n(s.channel.capacity)}  payments queue: ${n(s.queue.visible)} visible, ` +
      `${n(s.queue.inFlight)} in flight  workers ${s.concurrency}  throughput ${n(s.throughput)}/s`,
    renderPool('pricing', s.pools.pricing),
    renderPool('payments', s.pools.payments),
    ...s.recent.map((line) => `  ${line}`),
  ];
}

/** One plain line for logs (no cursor movement); `done` marks the last one. */
export function renderPlain(s: Snapshot, done = false): string {
  const c = s.counters;
  return (
    `[${(s.elapsedMs / 1000).toFixed(1)}s] produced=${c.produced} inFlight=${s.inFlight} processed=${c.processed} ` +
    `dropped=${c.dropped} retried=${c.retried} deadLettered=${c.deadLettered} deduplicated=${c.deduplicated} ` +
    `channel=${s.channel.size}/${s.channel.capacity} queue=${s.queue.visible + s.queue.inFlight} ` +
    `workers=${s.concurrency} throughput=${s.throughput}/s ${plainPool('pricing', s.pools.pricing)} ` +
    `${plainPool('payments', s.pools.payments)}` +
    (done ? (s.stopping ? ' stopped: drained' : ' finished') : s.stopping ? ' draining' : '')
  );
}

/** The closing accounting table; its last line says whether it balances. */
export function renderTable(a: Accounting): string[] {
  const row = (label: string, value: number, note = '') =>
    `  ${label.padEnd(16)}${n(value).padStart(10)}${note ? `   ${note}` : ''}`;
  const check = `produced ${n(a.produced)} = processed ${n(a.processed)} + dropped ${n(a.dropped)} + dead-lettered ${n(a.deadLettered)}`;
  return [
    '',
    `Accounting${a.interrupted ? ' (stopped early: the storefront stopped producing, everything accepted drained)' : ''}`,
    row('produced', a.produced),
    row('processed', a.processed, 'paid exactly once'),
    row('dropped', a.dropped, 'by the orders channel policy, each reported'),
    row('dead-lettered', a.deadLettered, 'after every attempt failed'),
    `  ${'-'.repeat(26)}`,
    row('retried', a.retried, 'payment attempts retried'),
    row('deduplicated', a.deduplicated, 'duplicate charges and settlements absorbed'),
    row('stale acks', a.staleAcks, 'late acks of abandoned attempts, ignored'),
    '',
    a.balanced ? `balanced: ${check}` : `NOT BALANCED: ${check}, ${n(a.unaccounted)} unaccounted`,
    `in ${(a.elapsedMs / 1000).toFixed(1)}s`,
  ];
}
