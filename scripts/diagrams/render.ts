/**
 * Writes docs/diagrams/<name>.svg for every scenario in scenarios.ts, by running the real
 * operators in virtual time, and docs/diagrams/README.md listing them. Run it with
 * `npm run diagrams` (`tsx scripts/diagrams/render.ts`). spec/diagrams.spec.ts fails when a
 * committed file differs from what this would write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderReadme } from './readme.js';
import { scenarios } from './scenarios.js';
import { renderSvg } from './svg.js';
import { record } from './timeline.js';

const dir = fileURLToPath(new URL('../../docs/diagrams/', import.meta.url));
mkdirSync(dir, { recursive: true });
const diagrams = scenarios.map(record);
for (const diagram of diagrams) {
  writeFileSync(`${dir}${diagram.name}.svg`, renderSvg(diagram));
  console.log(`docs/diagrams/${diagram.name}.svg`);
}
writeFileSync(`${dir}README.md`, renderReadme(diagrams));
console.log('docs/diagrams/README.md');
