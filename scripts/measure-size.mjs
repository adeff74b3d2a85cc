#!/usr/bin/env node
/**
 * Size of the code, as the project measures it: lines per file in `src/` and lines per function
 * (every function, method, accessor, constructor and arrow function with a block body, nested
 * ones counted on their own and inside their parent), parsed with the TypeScript compiler.
 *
 *   node scripts/measure-size.mjs            # report: files over 500 lines, functions over 120
 *   node scripts/measure-size.mjs --check    # the same, and exit 1 when any is over its limit
 *   node scripts/measure-size.mjs --top 20   # the 20 longest functions
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const FILE_LIMIT = 500;
const FUNCTION_LIMIT = 120;

const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, top: { type: 'string', default: '10' } },
});
const top = Number(values.top);
if (!Number.isInteger(top) || top < 0) {
  console.error(`measure-size: --top must be a whole number >= 0, got ${values.top}`);
  process.exit(2);
}

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function nameOf(node, source) {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyDeclaration(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

const fileRows = [];
const functionRows = [];
for (const path of files('src')) {
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const rel = relative('.', path);
  fileRows.push({ path: rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body && ts.isBlock(node.body)) {
      const start = source.getLineAndCharacterOfPosition(node.body.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.body.getEnd()).line;
      functionRows.push({
        where: `${rel}:${start + 1}`,
        name: nameOf(node, source),
        lines: end - start + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

fileRows.sort((a, b) => b.lines - a.lines);
functionRows.sort((a, b) => b.lines - a.lines);
const bigFiles = fileRows.filter((f) => f.lines > FILE_LIMIT);
const longFunctions = functionRows.filter((f) => f.lines > FUNCTION_LIMIT);

console.log(`src/: ${fileRows.length} files, ${functionRows.length} functions`);
console.log(`files over ${FILE_LIMIT} lines: ${bigFiles.length}`);
for (const f of bigFiles) console.log(`  ${String(f.lines).padStart(5)}  ${f.path}`);
console.log(`functions over ${FUNCTION_LIMIT} lines: ${longFunctions.length}`);
for (const f of longFunctions)
  console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.where}`);
if (top > 0) {
  console.log(`longest ${top} functions:`);
  for (const f of functionRows.slice(0, top)) {
    console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.where}`);
  }
}
if (values.check && (bigFiles.length > 0 || longFunctions.length > 0)) process.exit(1);
