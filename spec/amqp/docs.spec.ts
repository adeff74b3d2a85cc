/**
 * The RabbitMQ examples are code too. spec/docs.spec.ts runs every ```ts block without a
 * broker and cannot resolve 'sluice/amqp'; so the examples that need RabbitMQ are fenced
 * ```typescript amqp and run here, each as its own test against the server of
 * spec/amqp/amqpServer.ts (AMQP_URL), with 'sluice/amqp' pointed at src/amqp/index.ts. Sources:
 * doc comments under src/amqp/ and docs/amqp.md. Each example declares names of its own and
 * deletes them.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeEach, expect, it } from 'vitest';
import { amqpUrl, describeAmqp } from './amqpServer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, '.cache', 'amqp-doc-blocks');
const FENCE = /```typescript amqp\n([\s\S]*?)```/g;
const entry = pathToFileURL(join(root, 'src', 'amqp', 'index.ts')).href;

interface Block {
  file: string;
  line: number;
  code: string;
}

function blocksOf(file: string, text: string, offset = 0): Block[] {
  return Array.from(text.matchAll(FENCE), (match) => ({
    file,
    line: offset + text.slice(0, match.index).split('\n').length,
    code: match[1] ?? '',
  }));
}

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

const sources = readdirSync(join(root, 'src', 'amqp'))
  .filter((name) => name.endsWith('.ts'))
  .sort()
  .map((name) => join(root, 'src', 'amqp', name));
const blocks: Block[] = [
  ...sources.flatMap(sourceBlocks),
  ...blocksOf('docs/amqp.md', readFileSync(join(root, 'docs', 'amqp.md'), 'utf8')),
];
mkdirSync(out, { recursive: true });

describeAmqp('RabbitMQ examples in the docs', () => {
  beforeEach(() => {
    process.env.AMQP_URL = amqpUrl;
  });

  it('finds the examples it is meant to run', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  for (const block of blocks) {
    it(`${block.file} block at line ${block.line} runs`, async () => {
      const name = `${block.file.replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.ts`;
      const path = join(out, name);
      const code = block.code.replaceAll("from 'sluice/amqp'", `from '${entry}'`);
      writeFileSync(path, `${code}\nexport {};\n`);
      await import(/* @vite-ignore */ pathToFileURL(path).href);
    });
  }
});
