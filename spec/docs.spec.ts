/**
 * Docs are code: every ```ts block in README.md and docs/*.md, and every ```ts example inside a
 * doc comment in src/, runs here as its own test. A block imports from 'sluice' (aliased to
 * src/index.ts) and asserts with node:assert; a block that throws or rejects fails its test.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.cache', 'doc-blocks');

interface Block {
  file: string;
  line: number;
  code: string;
}

const FENCE = /```(?:ts|typescript)\n([\s\S]*?)```/g;

function blocksOf(file: string, text: string, lineOffset = 0): Block[] {
  const blocks: Block[] = [];
  for (const match of text.matchAll(FENCE)) {
    const line = lineOffset + text.slice(0, match.index).split('\n').length;
    blocks.push({ file, line, code: match[1] ?? '' });
  }
  return blocks;
}

function markdownBlocks(path: string): Block[] {
  return blocksOf(relative(root, path), readFileSync(path, 'utf8'));
}

/** ```ts examples inside /** doc comments, with the leading ` * ` removed. */
function sourceBlocks(path: string): Block[] {
  const text = readFileSync(path, 'utf8');
  const blocks: Block[] = [];
  for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = (comment[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''))
      .join('\n');
    const offset = text.slice(0, comment.index).split('\n').length - 1;
    blocks.push(...blocksOf(relative(root, path), body, offset));
  }
  return blocks;
}

function walk(dir: string, ext: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path, ext));
    else if (entry.name.endsWith(ext)) found.push(path);
  }
  return found.sort();
}

const blocks: Block[] = [
  ...markdownBlocks(join(root, 'README.md')),
  ...walk(join(root, 'docs'), '.md').flatMap(markdownBlocks),
  ...walk(join(root, 'src'), '.ts').flatMap(sourceBlocks),
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const byFile = new Map<string, Block[]>();
for (const block of blocks) byFile.set(block.file, [...(byFile.get(block.file) ?? []), block]);

for (const [file, fileBlocks] of byFile) {
  describe(file, () => {
    for (const block of fileBlocks) {
      it(`block at line ${block.line} runs`, async () => {
        const name = `${file.replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.ts`;
        const path = join(out, name);
        writeFileSync(path, `${block.code}\nexport {};\n`);
        await import(/* @vite-ignore */ pathToFileURL(path).href);
      });
    }
  });
}

it('finds the code blocks it is meant to run', () => {
  if (blocks.length === 0) throw new Error('no ```ts blocks found in README.md, docs/ or src/');
});
