/**
 * The page that spec/browser/browser.spec.ts bundles and loads in headless Chromium: a small
 * pipeline over sluice's pieces, run with real browser timers and microtasks. It publishes what
 * it saw as `globalThis.sluiceResults` (or the error as `sluiceError`); the spec checks it. It
 * is type-checked without the DOM library, so it reaches the page through `globalThis`.
 */
import { defer, lastValueFrom, map, of, throwError, timer, toArray } from 'rxjs';
import { atLeastOnce, broadcast, type DeadLetter, mpsc, oneshot, watch, workerPool } from 'sluice';

export interface PageResults {
  /** A `block` channel of capacity 4 through a pool of 3: every order, each once, doubled. */
  pooled: number[];
  /** The most messages the pool's channel held at once (never above its capacity). */
  peakQueued: number;
  /** `atLeastOnce`: messages delivered after retries, and the one dead-lettered. */
  delivered: string[];
  attempts: Record<string, number>;
  deadLetters: string[];
  /** `for await` over a receiver, fed by a producer paced by `await tx.send()`. */
  iterated: number[];
  /** oneshot, broadcast and watch. */
  oneshot: string;
  broadcast: number[][];
  watched: string[];
  userAgent: string;
}

/** What the page leaves on `globalThis` for the spec. */
export interface PageGlobals {
  sluiceResults?: PageResults;
  sluiceError?: string;
  navigator?: { userAgent: string };
}
const page = globalThis as PageGlobals;

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function pooled(): Promise<{ pooled: number[]; peakQueued: number }> {
  const [tx, rx] = mpsc<number>(4);
  let queued = 0;
  let peakQueued = 0;
  const results = lastValueFrom(
    rx.pipe(
      workerPool(
        async (order: number) => {
          queued--;
          await tick(order % 3); // real browser timers
          return order * 2;
        },
        { concurrency: 3 },
      ),
      toArray(),
    ),
  );
  for (let order = 1; order <= 30; order++) {
    queued++;
    peakQueued = Math.max(peakQueued, queued);
    await tx.send(order);
  }
  tx.close();
  return { pooled: (await results).sort((a, b) => a - b), peakQueued };
}

async function delivered(): Promise<Pick<PageResults, 'delivered' | 'attempts' | 'deadLetters'>> {
  const attempts: Record<string, number> = {};
  const [deadTx, deadRx] = mpsc<DeadLetter<string>>(10);
  const deadLetters: string[] = [];
  deadRx.subscribe((letter) => deadLetters.push(letter.message));
  const deliver = (message: string) =>
    defer(() => {
      const attempt = (attempts[message] = (attempts[message] ?? 0) + 1);
      if (message === 'poison') return throwError(() => new Error('refused'));
      // 'flaky' fails twice, then its ack comes on a real timer
      return message === 'flaky' && attempt < 3
        ? throwError(() => new Error('503'))
        : timer(1).pipe(map(() => `ack ${message}`));
    });
  const acks = await lastValueFrom(
    of('a', 'flaky', 'poison', 'b').pipe(
      atLeastOnce(deliver, { maxAttempts: 3, backoff: 2, ackTimeout: 1_000, deadLetter: deadTx }),
      toArray(),
    ),
  );
  return { delivered: acks.map((a) => a.message).sort(), attempts, deadLetters };
}

async function iterated(): Promise<number[]> {
  const [tx, rx] = mpsc<number>(2);
  const producing = (async () => {
    for (let n = 1; n <= 10; n++) await tx.send(n); // waits while two are unread
    tx.close();
  })();
  const seen: number[] = [];
  for await (const n of rx) {
    seen.push(n);
    if (n % 4 === 0) await tick(1);
  }
  await producing;
  return seen;
}

async function channels(): Promise<Pick<PageResults, 'oneshot' | 'broadcast' | 'watched'>> {
  const [answerTx, answerRx] = oneshot<string>();
  setTimeout(() => answerTx.send('answer'), 0);
  const answer = await answerRx.recv();

  const [newsTx, newsRx] = broadcast<number>(8);
  const first = lastValueFrom(newsRx.pipe(toArray()));
  const second = lastValueFrom(newsRx.pipe(toArray()));
  for (const n of [1, 2, 3]) newsTx.send(n);
  newsTx.close();

  const [stateTx, stateRx] = watch('idle');
  const watched: string[] = [];
  const subscription = stateRx.subscribe((state) => watched.push(state));
  stateTx.send('busy');
  stateTx.send('done');
  subscription.unsubscribe();

  return { oneshot: answer, broadcast: [await first, await second], watched };
}

try {
  page.sluiceResults = {
    ...(await pooled()),
    ...(await delivered()),
    iterated: await iterated(),
    ...(await channels()),
    userAgent: page.navigator?.userAgent ?? 'unknown',
  };
} catch (error) {
  page.sluiceError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
