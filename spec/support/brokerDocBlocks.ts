/**
 * The examples of a broker entry point (`sluice/redis`, `sluice/amqp`) are code too, but
 * spec/docs.spec.ts runs ```ts blocks without a server and cannot resolve the entry. So such
 * examples are fenced ```typescript <broker> (still TypeScript to a reader and a highlighter)
 * and run by the broker's own docs spec through this helper: each block is written to
 * `.cache/<broker>-doc-blocks/` with `'sluice/<broker>'` pointed at `src/<broker>/index.ts`,
 * then imported. Sources: the doc comments under `src/<broker>/` and `docs/<broker>.md`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DocBlock {
  readonly file: string;
  readonly line: number;
  readonly code: string;
}

function blocksOf(fence: RegExp, file: string, text: string, offset = 0): DocBlock[] {
  return Array.from(text.matchAll(fence), (match) => ({
    file,
    line: offset + text.slice(0, match.index).split('\n').length,
    code: match[1] ?? '',
  }));
}

function sourceBlocks(fence: RegExp, path: string): DocBlock[] {
  const text = readFileSync(path, 'utf8');
  const blocks: DocBlock[] = [];
  for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const body = (comment[1] ?? '')
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''))
      .join('\n');
    const offset = text.slice(0, comment.index).split('\n').length - 1;
    blocks.push(...blocksOf(fence, relative(root, path), body, offset));
  }
  return blocks;
}

/** Every ```typescript <broker> block of the entry's sources and guide, and how to run one. */
export function brokerDocBlocks(broker: 'redis' | 'amqp'): {
  readonly blocks: readonly DocBlock[];
  run(block: DocBlock): Promise<unknown>;
} {
  const fence = new RegExp(`\`\`\`typescript ${broker}\\n([\\s\\S]*?)\`\`\``, 'g');
  const dir = join(root, 'src', broker);
  const blocks = [
    ...readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .sort()
      .flatMap((name) => sourceBlocks(fence, join(dir, name))),
    ...blocksOf(
      fence,
      `docs/${broker}.md`,
      readFileSync(join(root, 'docs', `${broker}.md`), 'utf8'),
    ),
  ];
  const out = join(root, '.cache', `${broker}-doc-blocks`);
  mkdirSync(out, { recursive: true });
  const entry = pathToFileURL(join(dir, 'index.ts')).href;
  return {
    blocks,
    run(block) {
      const path = join(out, `${block.file.replace(/[^a-zA-Z0-9]+/g, '_')}_${block.line}.ts`);
      const code = block.code.replaceAll(`from 'sluice/${broker}'`, `from '${entry}'`);
      writeFileSync(path, `${code}\nexport {};\n`);
      return import(/* @vite-ignore */ pathToFileURL(path).href);
    },
  };
}
