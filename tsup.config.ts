import { defineConfig } from 'tsup';

// One public entry, emitted as ESM and CJS with declarations for both.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['rxjs'],
});
