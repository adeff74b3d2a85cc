/**
 * Docs are code: every ```ts block in README.md and docs/*.md, and every ```ts example inside a
 * doc comment in src/, runs here as its own test. A block imports from 'sluice' (aliased to
 * src/index.ts) and asserts with node:assert; a block that throws or rejects fails its test.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';
import { blockFileName, type DocBlock, docBlocks } from '../scripts/docBlocks.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'doc-blocks');

const blocks: DocBlock[] = docBlocks(root);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const byFile = new Map<string, DocBlock[]>();
for (const block of blocks) byFile.set(block.file, [...(byFile.get(block.file) ?? []), block]);

for (const [file, fileBlocks] of byFile) {
  describe(file, () => {
    for (const block of fileBlocks) {
      it(`block at line ${block.line} runs`, async () => {
        const path = join(out, blockFileName(block));
        writeFileSync(path, `${block.code}\nexport {};\n`);
        await import(/* @vite-ignore */ pathToFileURL(path).href);
      });
    }
  });
}

it('finds the code blocks it is meant to run', () => {
  if (blocks.length === 0) throw new Error('no ```ts blocks found in README.md, docs/ or src/');
});
