/**
 * The Redis examples are code too. spec/docs.spec.ts runs every ```ts block without a server,
 * and cannot resolve 'sluice/redis'; so the examples that need Redis are fenced
 * ```typescript redis (still TypeScript to a reader and to a highlighter) and run here, each as
 * its own test against this file's private redis-server (REDIS_URL), after a FLUSHALL, with
 * 'sluice/redis' pointed at src/redis/index.ts. Sources: doc comments under src/redis/ and
 * docs/redis.md.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeEach, expect, it } from 'vitest';
import { describeRedis, useRedisServer } from './redisServer.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, '.cache', 'redis-doc-blocks');
const FENCE = /```typescript redis\n([\s\S]*?)```/g;
const entry = pathToFileURL(join(root, 'src', 'redis', 'index.ts')).href;

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

const sources = readdirSync(join(root, 'src', 'redis'))
  .filter((name) => name.endsWith('.ts'))
  .sort()
  .map((name) => join(root, 'src', 'redis', name));
const blocks: Block[] = [
  ...sources.flatMap(sourceBlocks),
  ...blocksOf('docs/redis.md', readFileSync(join(root, 'docs', 'redis.md'), 'utf8')),
];
mkdirSync(out, { recursive: true });

describeRedis('Redis examples in the docs', () => {
  const redis = useRedisServer();

  beforeEach(async () => {
    await redis.flush();
    process.env.REDIS_URL = redis.url;
  });

  it('finds the examples it is meant to run', () => {
    expect(blocks.length).toBeGreaterThan(3);
  });

  for (const block of blocks) {
    it(`${block.file} block at line ${block.line} runs`, async () => {
      const name = `${block.file.replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.ts`;
      const path = join(out, name);
      const code = block.code.replaceAll("from 'sluice/redis'", `from '${entry}'`);
      writeFileSync(path, `${code}\nexport {};\n`);
      await import(/* @vite-ignore */ pathToFileURL(path).href);
    });
  }
});
