/**
 * The ```ts blocks of the documentation: every one in README.md and docs/*.md, and every
 * example inside a doc comment in src/. spec/docs.spec.ts runs them; scripts/check-doc-types.ts
 * type-checks them. One extraction, so both see the same blocks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocBlock {
  /** The file it is in, relative to the repository root. */
  readonly file: string;
  /** The line of its opening fence, from 1. */
  readonly line: number;
  readonly code: string;
}

const FENCE = /```(?:ts|typescript)\n([\s\S]*?)```/g;

function blocksOf(file: string, text: string, lineOffset = 0): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const match of text.matchAll(FENCE)) {
    const line = lineOffset + text.slice(0, match.index).split('\n').length;
    blocks.push({ file, line, code: match[1] ?? '' });
  }
  return blocks;
}

function markdownBlocks(root: string, path: string): DocBlock[] {
  return blocksOf(relative(root, path), readFileSync(path, 'utf8'));
}

/** ```ts examples inside /** doc comments, with the leading ` * ` removed. */
function sourceBlocks(root: string, path: string): DocBlock[] {
  const text = readFileSync(path, 'utf8');
  const blocks: DocBlock[] = [];
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

/** Every documentation block under `root`, in a stable order. */
export function docBlocks(root: string): DocBlock[] {
  return [
    ...markdownBlocks(root, join(root, 'README.md')),
    ...walk(join(root, 'docs'), '.md').flatMap((path) => markdownBlocks(root, path)),
    ...walk(join(root, 'src'), '.ts').flatMap((path) => sourceBlocks(root, path)),
  ];
}

/** The file name a block is written to: unique per block, readable in a failure. */
export function blockFileName(block: DocBlock): string {
  return `${block.file.replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.ts`;
}
