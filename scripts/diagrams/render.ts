/**
 * Writes docs/diagrams/<name>.svg for every scenario in scenarios.ts, by running the real
 * operators in virtual time: `npm run diagrams` (`tsx scripts/diagrams/render.ts`).
 * spec/diagrams.spec.ts fails when a committed SVG differs from what this would write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scenarios } from './scenarios.js';
import { renderSvg } from './svg.js';
import { record } from './timeline.js';

const dir = fileURLToPath(new URL('../../docs/diagrams/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const scenario of scenarios) {
  writeFileSync(`${dir}${scenario.name}.svg`, renderSvg(record(scenario)));
  console.log(`docs/diagrams/${scenario.name}.svg`);
}
