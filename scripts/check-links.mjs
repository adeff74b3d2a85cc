// Every relative link in the package's Markdown (README.md, CHANGELOG.md, docs/) must lead to a
// file the packed tarball contains, so the links work inside node_modules/sluice as they do in
// the repository. Links with a scheme (https:, mailto:) and pure anchors are not checked.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const [pack] = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString(),
);
const packed = new Set(pack.files.map((file) => normalize(file.path)));

const link = /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const broken = [];
for (const file of packed) {
  if (!file.endsWith('.md')) continue;
  // Fenced code is not Markdown: an array index `a[0](x)` there is not a link.
  const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  for (const [, target] of text.matchAll(link)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    const path = normalize(join(dirname(file), decodeURI(target.split('#')[0])));
    if (!packed.has(path)) broken.push(`${file}: ${target} (${path} is not in the package)`);
  }
}
if (broken.length > 0) {
  console.error(`links that lead outside the package:\n  ${broken.join('\n  ')}`);
  process.exit(1);
}
console.log(`links: every relative link in the package's Markdown leads to a packed file`);
