// Proves the published package works: packs it, installs the tarball into a fresh temporary
// project beside rxjs, and uses it from ESM, from CJS, and from TypeScript (node16 resolution,
// both module kinds). Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const run = (cmd, args, cwd) => {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  } catch (err) {
    process.stderr.write(String(err.stdout ?? ''));
    throw err;
  }
};

const dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', dir], root)
    .trim()
    .split('\n')
    .pop();
  const rxjsVersion = JSON.parse(
    run('node', ['-p', 'JSON.stringify(require("rxjs/package.json").version)'], root),
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      join(dir, tarball),
      `rxjs@${rxjsVersion}`,
    ],
    dir,
  );

  const program = (load) => `${load}
const [tx, rx] = mpsc(2);
const seen = [];
rx.subscribe((n) => seen.push(n));
tx.trySend(1);
tx.trySend(2);
if (seen.join() !== '1,2') throw new Error('unexpected ' + seen.join());
console.log('ok');
`;
  writeFileSync(join(dir, 'esm.mjs'), program("import { mpsc } from 'sluice';"));
  writeFileSync(join(dir, 'cjs.cjs'), program("const { mpsc } = require('sluice');"));
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    if (run('node', [file], dir).trim() !== 'ok') throw new Error(`${file} failed`);
  }

  const typed = `import { mpsc, type Sender } from 'sluice';
const [tx, rx] = mpsc<number>(2);
const s: Sender<number> = tx;
rx.subscribe((n: number) => n.toFixed());
s.trySend(1);
`;
  writeFileSync(join(dir, 'typed.mts'), typed);
  writeFileSync(join(dir, 'typed.cts'), typed);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const file of ['typed.mts', 'typed.cts']) {
    run(
      'node',
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--lib',
        'es2022,dom',
        '--skipLibCheck',
        'false',
        file,
      ],
      dir,
    );
  }
  console.log(
    `package check: ${tarball} works from ESM, CJS and TypeScript (node16, both module kinds)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
