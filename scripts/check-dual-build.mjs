// Proves that the ESM and CJS builds, loaded side by side in one process (an application in
// ESM whose dependency loads sluice through require), speak one demand protocol: a channel
// made by one copy, piped through the other copy's stages with a plain RxJS operator between
// them, keeps its backpressure end to end. Without it, the second copy would see a push source
// and fail at its capacity. Run after `npm run build`.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const esm = await import(pathToFileURL(resolve(root, 'dist/index.js')).href);
const cjs = createRequire(import.meta.url)(resolve(root, 'dist/index.cjs'));
if (esm.mpsc === cjs.mpsc) throw new Error('expected two loaded copies of sluice');
const { lastValueFrom, map, toArray } = await import('rxjs');

const total = 2000;
const [tx, rx] = cjs.mpsc(8);
let accepted = 0;
let finished = 0;
let ahead = 0;
const results = lastValueFrom(
  rx.pipe(
    esm.workerPool(async (n) => n * 2, { concurrency: 4 }),
    map((n) => n + 1),
    cjs.workerPool(
      async (n) => {
        await new Promise((wake) => setImmediate(wake)); // the slow last stage
        finished++;
        return n;
      },
      { concurrency: 1, capacity: 16 },
    ),
    toArray(),
  ),
);
for (let i = 0; i < total; i++) {
  await tx.send(i);
  accepted++;
  ahead = Math.max(ahead, accepted - finished);
}
tx.close();
const out = await results;
if (out.length !== total) throw new Error(`expected ${total} results, got ${out.length}`);
// channel 8 + one waiting send + first pool 4 + second pool's queue 16 + its worker 1, and slack
if (ahead > 40) throw new Error(`the producer ran ${ahead} messages ahead: demand was lost`);
console.log(`dual build: ${total} messages through ESM and CJS stages, at most ${ahead} ahead`);
