/**
 * The API's vocabulary, held: no failure a caller can meet is a plain `Error` or RxJS's
 * `TimeoutError` (each has a named class), and every option type is named `XOptions`. A scan
 * of `src/` (doc comments excluded, as their examples build errors of their own); the few plain
 * errors that remain are listed with why each is not a caller's failure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Plain `new Error(` left in src/, by file, with why. */
const PLAIN_ERRORS_ALLOWED: Readonly<Record<string, { count: number; why: string }>> = {
  'src/internal/heap.ts': { count: 1, why: 'a broken internal invariant (a bug), never a use' },
  'src/internal/quietError.ts': {
    count: 2,
    why: "a client's error copied without its arguments, only ever a cause",
  },
  'src/redis/codec.ts': { count: 1, why: 'rebuilds an error stored by nack, name kept' },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The file's lines that are code, not comments. */
function codeLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\*\*|\/\/)/.test(line))
    .map((line) => line.replace(/\/\/.*$/, ''));
}

const files = sourceFiles(join(ROOT, 'src')).map((path) => ({
  name: relative(ROOT, path).split('\\').join('/'),
  code: codeLines(readFileSync(path, 'utf8')),
}));

describe('vocabulary', () => {
  it('no plain Error reaches a caller: each failure has a named class', () => {
    const found: Record<string, number> = {};
    for (const { name, code } of files) {
      const count = code.filter((line) => line.includes('new Error(')).length;
      if (count > 0) found[name] = count;
    }
    const allowed = Object.fromEntries(
      Object.entries(PLAIN_ERRORS_ALLOWED).map(([name, { count }]) => [name, count]),
    );
    expect(found).toEqual(allowed);
  });

  it("no sluice code uses RxJS's TimeoutError: each deadline has its own error", () => {
    const users = files
      .filter(({ code }) =>
        code.some((line) => /\bTimeoutError\b/.test(line.replace(/\w+TimeoutError/g, ''))),
      )
      .map(({ name }) => name);
    expect(users).toEqual([]);
  });

  it('public option types are named XOptions (a *Config is only a deprecated alias)', () => {
    const byName = new Map(files.map((file) => [file.name, file]));
    // what the entry points export: the named lists, and everything of an `export *` module
    const exported = new Set<string>();
    for (const entry of ['src/index.ts', 'src/redis/index.ts', 'src/amqp/index.ts']) {
      const text = readFileSync(join(ROOT, entry), 'utf8');
      for (const [, names] of text.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
        for (const name of (names ?? '').split(',')) {
          const bare = name.replace(/\btype\b/, '').trim();
          if (bare !== '') exported.add(bare);
        }
      }
      for (const [, from] of text.matchAll(/export \* from '\.\/([^']+)\.js'/g)) {
        const module = byName.get(join(entry, '..', `${from}.ts`).split('\\').join('/'));
        for (const line of module?.code ?? []) {
          const declared = /^export (?:interface|type) (\w+)/.exec(line);
          if (declared?.[1] !== undefined) exported.add(declared[1]);
        }
      }
    }
    const declarations = files.flatMap(({ code }) => code.map((line) => line.trim()));
    const notAliases = [...exported]
      .filter((name) => name.endsWith('Config'))
      .filter(
        (name) =>
          !declarations.some((line) =>
            new RegExp(`^export type ${name}<[^>]*> = ${name.slice(0, -6)}Options<[^>]*>;$`).test(
              line,
            ),
          ),
      );
    // WorkerPoolConfig: workerPool.ts renames it to WorkerPoolOptions
    expect(notAliases.filter((name) => name !== 'WorkerPoolConfig')).toEqual([]);
    expect(exported).toContain('BatchConfig');
    expect(exported).toContain('RateLimitOptions');
  });
});
