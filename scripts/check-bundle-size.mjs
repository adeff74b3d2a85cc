// A browser bundle of `import { mpsc } from 'sluice'`, built by esbuild from the built package
// (dist/, as a user's bundler sees it after `npm install`), minified, must stay within 8 KB
// gzipped, rxjs included: importing one channel must not drag in the queue, the operators and
// everything else. Run after `npm run build`; prints the size and, over the limit, what fills it.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const limit = 8 * 1024;
const root = new URL('..', import.meta.url).pathname;

const result = await build({
  stdin: {
    contents: "import { mpsc } from 'sluice';\nglobalThis.mpsc = mpsc;\n",
    resolveDir: root, // 'sluice' resolves to this package by its own name, through "exports"
    sourcefile: 'page.js',
  },
  bundle: true,
  minify: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'silent',
  tsconfigRaw: {}, // ignore the repository's "paths" to src/: measure what is published
});

const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
const [output] = Object.values(result.metafile.outputs);
const inputs = Object.entries(output.inputs)
  .map(([path, { bytesInOutput }]) => [path.replace(/^.*node_modules\//, ''), bytesInOutput])
  .filter(([, bytes]) => bytes > 0)
  .sort((a, b) => b[1] - a[1]);

const fromSource = inputs.filter(([path]) => path.startsWith('src/'));
if (fromSource.length > 0) {
  console.error(`bundle size: measured src/, not the build: ${fromSource.map(([p]) => p)}`);
  process.exit(1);
}
const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const summary = `import { mpsc } from 'sluice', bundled for the browser and minified: ${kb(code.length)}, ${kb(gzipped)} gzipped (limit ${kb(limit)})`;
if (gzipped > limit) {
  console.error(`bundle size: too large. ${summary}\nlargest inputs (minified bytes):`);
  for (const [path, bytes] of inputs.slice(0, 15)) console.error(`  ${bytes}\t${path}`);
  process.exit(1);
}
console.log(`bundle size: ${summary}`);
