/**
 * Type-checks every documentation example (`npm run check:docs-types`, run by CI):
 * spec/docs.spec.ts proves each ```ts block runs, this proves it compiles, so an example that
 * calls an option by a wrong name or passes the wrong type fails even when it happens to run.
 *
 * Each block is written to .cache/doc-types/ as its own module and compiled by tsc with the
 * project's settings (tsconfig.json), where `sluice`, `sluice/redis` and `sluice/amqp` map to
 * src/. Errors are reported against the block's own file and line.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockFileName, type DocBlock, docBlocks } from './docBlocks.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'doc-types');

const blocks = docBlocks(root);
if (blocks.length === 0) {
  console.error('check-doc-types: no ```ts blocks found in README.md, docs/ or src/');
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const byName = new Map<string, DocBlock>();
for (const block of blocks) {
  const name = blockFileName(block);
  byName.set(name, block);
  writeFileSync(join(out, name), `${block.code}\nexport {};\n`);
}
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify(
    {
      extends: relative(out, join(root, 'tsconfig.json')),
      // the project's settings and paths (`sluice` → src/index.ts); only the blocks are roots
      include: ['*.ts'],
    },
    null,
    2,
  ),
);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', out], {
  encoding: 'utf8',
});
const output = `${run.stdout}${run.stderr}`;

// `.cache/doc-types/docs_queue_md_120.ts(4,7): error …` → `docs/queue.md:123: error …`
const located = output
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const match = /^(?:.*[\\/])?([^\\/(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
    const block = match && byName.get(match[1] ?? '');
    if (!match || !block) return line;
    return `${block.file}:${block.line + Number(match[2])}: ${match[4]}`;
  });

if (run.status !== 0) {
  console.error(located.join('\n'));
  console.error(
    `check-doc-types: the documentation examples do not type-check (${blocks.length} blocks)`,
  );
  process.exit(1);
}
console.log(`check-doc-types: ${blocks.length} documentation blocks type-check`);
