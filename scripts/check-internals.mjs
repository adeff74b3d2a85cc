// Keeps sluice's machinery out of the published type declarations. Run after `npm run build`
// (part of `npm run check:package`). The build strips members tagged `@internal` (tsup's dts
// build with `stripInternal`); this proves nothing internal got in another way:
//
// 1. No name that a module of src/internal/ exports (the demand protocol's `pull`, `Demand`,
//    `Sink`, the channel cores, …) is declared in, or used as a symbol key (`[pull]`) by, any
//    dist/*.d.ts or *.d.cts.
// 2. Every name a declaration file declares is one it exports, or a known private helper type:
//    a type that is declared but not exported is an internal one reachable from a public
//    signature.
// 3. The declaration files compile on their own, without skipLibCheck: a stripped declaration
//    that a public one still refers to would leave it dangling.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');

/** Declared only to type a public one, never useful by name: allowed unexported. */
const PRIVATE_HELPER_TYPES = new Set([
  'ValueCarrying', // the `value` of the errors that hand a message back (src/errors.ts)
]);

function walk(dir, test) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path, test));
    else if (test(entry.name)) found.push(path);
  }
  return found.sort();
}

const DECLARATION =
  /^(?:export )?(?:declare )?(?:abstract )?(?:const|let|function|class|interface|type|enum|namespace) ([A-Za-z_$][\w$]*)/gm;

const internalNames = new Set();
for (const file of walk(join(root, 'src', 'internal'), (name) => name.endsWith('.ts'))) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(DECLARATION)) {
    if (match[0].startsWith('export ')) internalNames.add(match[1]);
  }
}
if (!internalNames.has('pull'))
  throw new Error('check-internals: found no exports in src/internal');

const declarationFiles = walk(dist, (name) => /\.d\.c?ts$/.test(name)).filter(
  (file) => !file.includes(`${join('dist', 'esm')}`),
);
if (declarationFiles.length === 0) throw new Error('check-internals: no dist/*.d.ts: build first');

const problems = [];
for (const file of declarationFiles) {
  const name = file.slice(root.length + 1);
  const text = readFileSync(file, 'utf8');
  const declared = new Set([...text.matchAll(DECLARATION)].map((match) => match[1]));
  const exported = new Set(
    [...text.matchAll(/^export \{([^}]*)\}/gm)].flatMap((match) =>
      match[1].split(',').map(
        (part) =>
          part
            .trim()
            .replace(/^type /, '')
            .split(/\s+as\s+/)[0],
      ),
    ),
  );
  for (const id of declared) {
    if (internalNames.has(id) && !exported.has(id)) {
      problems.push(`${name}: declares ${id}, an internal of src/internal/`);
    } else if (!exported.has(id) && !PRIVATE_HELPER_TYPES.has(id)) {
      problems.push(
        `${name}: declares ${id} without exporting it (an internal type in a public signature?)`,
      );
    }
  }
  for (const match of text.matchAll(/\[([A-Za-z_$][\w$]*)\]\s*[(:?]/g)) {
    if (internalNames.has(match[1])) {
      problems.push(`${name}: a member keyed by [${match[1]}], an internal symbol`);
    }
  }
}

// 3: the declarations compile as published, with 'sluice' resolving to the core's
const check = join(root, '.cache', 'check-internals');
mkdirSync(check, { recursive: true });
writeFileSync(
  join(check, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'ESNext',
      moduleResolution: 'Bundler',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      paths: { sluice: [join(dist, 'index.d.ts')] },
    },
    files: declarationFiles,
  }),
);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(check, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (err) {
  problems.push(
    `the declarations do not compile:\n${String(err.stdout ?? '')}${String(err.stderr ?? '')}`,
  );
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('check-internals: internal machinery reached the published declarations');
  process.exit(1);
}
console.log(
  `check-internals: ${declarationFiles.length} declaration files, none names any of ${internalNames.size} internals`,
);
