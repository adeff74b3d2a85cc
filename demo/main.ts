/**
 * `npm run demo`: the order pipeline with a live view. On a terminal the view redraws in place
 * and `+`/`-` change the number of pricing workers (and the autoscaler's floor); otherwise it
 * prints a plain line a second. Ctrl-C drains (the storefront stops, everything accepted
 * finishes); a second Ctrl-C exits at once. Exit status: 0 for a finished, balanced run; 1 if
 * the accounting does not balance or the demo failed; 2 for bad flags; 130 after Ctrl-C (a key
 * in a terminal or SIGINT, drained or forced) and 143 after SIGTERM, as a shell reports a
 * process that a signal ended.
 */
import { interval } from 'rxjs';
import { amqpInbox } from './amqpInbox.js';
import { parseFlags, usage } from './options.js';
import { type Charge, runDemo } from './pipeline.js';
import { renderLive, renderPlain, renderTable } from './view.js';

const out = process.stdout;
let parsed: ReturnType<typeof parseFlags>;
try {
  parsed = parseFlags(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
if (parsed === 'help') {
  out.write(`${usage}\n`);
  process.exit(0);
}
const options = parsed;
const tty = out.isTTY === true;
// the store of the payment queue: in memory, or RabbitMQ with --amqp (deleted when the run ends)
let inbox: Awaited<ReturnType<typeof amqpInbox<Charge>>> | undefined;
if (options.amqp !== undefined) {
  try {
    inbox = await amqpInbox<Charge>(options.amqp, 500, 3);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  out.write(`payment queue: ${inbox.where} (deleted on exit)\n`);
}
const run = runDemo(options, undefined, inbox);

let drawn = 0;
const draw = (done = false) => {
  if (tty) {
    const lines = renderLive(run.snapshot(), options, done);
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    for (let i = lines.length; i < drawn; i++) text += '\x1b[2K\n';
    if (drawn > lines.length) text += `\x1b[${drawn - lines.length}A`;
    out.write(text);
    drawn = Math.max(drawn, lines.length);
  } else {
    out.write(`${renderPlain(run.snapshot(), done)}\n`);
  }
};
// Signals are handled before anything is drawn: a Ctrl-C right at the start drains too.
/** 128 + the signal's number: what a shell reports for a process that the signal ended. */
const INTERRUPTED = 130; // SIGINT, or Ctrl-C read as a key in raw mode
const TERMINATED = 143; // SIGTERM
let interrupts = 0;
let interruptedWith: number | undefined;
const onInterrupt = (status: number) => {
  interrupts++;
  interruptedWith ??= status;
  if (interrupts === 1) {
    run.stop();
    draw();
  } else {
    ticker.unsubscribe();
    out.write('\nforced exit: work in flight was abandoned\n');
    process.exit(interruptedWith);
  }
};
const onSigint = () => onInterrupt(INTERRUPTED);
const onSigterm = () => onInterrupt(TERMINATED);
process.on('SIGINT', onSigint);
process.on('SIGTERM', onSigterm);

const ticker = interval(tty ? 200 : 1000).subscribe(() => draw());
draw();

if (tty && process.stdin.isTTY) {
  process.stdin.setRawMode(true);
  process.stdin.resume();
  process.stdin.on('data', (key: Buffer) => {
    const k = key.toString();
    if (k === '\u0003')
      onInterrupt(INTERRUPTED); // Ctrl-C in raw mode
    else if (k === '+') run.setConcurrency(run.snapshot().concurrency + 1);
    else if (k === '-') run.setConcurrency(run.snapshot().concurrency - 1);
  });
}

run.done.then(
  (accounting) => {
    ticker.unsubscribe();
    draw(true);
    for (const line of renderTable(accounting)) out.write(`${line}\n`);
    if (tty && process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.exitCode = !accounting.balanced ? 1 : (interruptedWith ?? 0);
  },
  (err: unknown) => {
    ticker.unsubscribe();
    process.stderr.write(
      `demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
