import type { Diagram, Mark, Row } from './timeline.js';

/**
 * Renders a recorded diagram as a self-contained SVG: one timeline per row, a tick per frame
 * of virtual time, no external fonts, integer coordinates only, so the same recording always
 * gives the same bytes.
 */

const WIDTH = 720;
const X0 = 136; // frame 0
const X1 = 700; // end of the arrows
const ROW = 46;
const FONT = 'font-family="monospace"';
const INK = '#1f2937';
const NOTE = '#b45309';
const ERROR = '#dc2626';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Width of `text` in pixels at `size` px monospace (0.6 em per character). */
const textWidth = (text: string, size: number) => Math.round(text.length * size * 0.6);

function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

function lastFrame(rows: readonly Row[]): number {
  let last = 0;
  for (const row of rows)
    for (const m of row.marks) last = Math.max(last, m.kind === 'span' ? m.end : m.frame);
  return last;
}

export function renderSvg(diagram: Diagram): string {
  const frames = lastFrame(diagram.rows) + 2;
  const step = Math.min(40, Math.floor((X1 - 12 - X0) / frames));
  const x = (frame: number) => X0 + frame * step;
  const out: string[] = [];
  const caption = wrap(diagram.caption, 100);
  const axisY = 54 + caption.length * 15;
  const top = axisY + 30;
  const height = top + diagram.rows.length * ROW;

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT} font-size="12">`,
    `<title>${esc(diagram.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="15" font-weight="bold" fill="${INK}">${esc(diagram.title)}</text>`,
  );
  caption.forEach((line, i) => {
    out.push(`<text x="16" y="${46 + i * 15}" font-size="11" fill="#4b5563">${esc(line)}</text>`);
  });
  for (let f = 0; f < frames; f++) {
    const major = f % 5 === 0;
    out.push(
      `<line x1="${x(f)}" y1="${axisY + 6}" x2="${x(f)}" y2="${height - 8}" stroke="${major ? '#e5e7eb' : '#f3f4f6'}"/>`,
    );
    if (major) {
      out.push(
        `<text x="${x(f)}" y="${axisY}" font-size="10" fill="#9ca3af" text-anchor="middle">${f}</text>`,
      );
    }
  }
  out.push(
    `<text x="${X0 - 20}" y="${axisY}" font-size="10" fill="#9ca3af" text-anchor="end">frame</text>`,
  );
  diagram.rows.forEach((row, i) => {
    const y = top + i * ROW;
    if (row.role === 'operator') operatorBox(out, row.name, y);
    else if (row.role === 'annotation') annotationRow(out, row, y, x);
    else notificationRow(out, row, y, x);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

function rowLabel(out: string[], name: string, y: number, color: string): void {
  out.push(
    `<text x="${X0 - 20}" y="${y + 4}" text-anchor="end" fill="${color}">${esc(name)}</text>`,
  );
}

function operatorBox(out: string[], label: string, y: number): void {
  out.push(
    `<rect x="${X0 - 10}" y="${y - 15}" width="${X1 - X0 + 10}" height="30" rx="4" fill="#eef2ff" stroke="#6366f1"/>`,
    `<text x="${(X0 + X1) >> 1}" y="${y + 4}" text-anchor="middle" fill="#3730a3">${esc(label)}</text>`,
  );
}

function notificationRow(out: string[], row: Row, y: number, x: (f: number) => number): void {
  const output = row.role === 'output';
  rowLabel(out, row.name, y, INK);
  out.push(
    `<line x1="${X0 - 8}" y1="${y}" x2="${X1}" y2="${y}" stroke="${INK}" stroke-width="1.5"/>`,
    `<polygon points="${X1 + 8},${y} ${X1},${y - 4} ${X1},${y + 4}" fill="${INK}"/>`,
  );
  // values at the same frame share one node, as a marble group `(ab)` would
  const byFrame = new Map<number, Mark[]>();
  for (const m of row.marks) byFrame.set(m.frame, [...(byFrame.get(m.frame) ?? []), m]);
  for (const [frame, marks] of byFrame) {
    const cx = x(frame);
    const values = marks.flatMap((m) => (m.kind === 'next' ? [m.label] : []));
    let half = 0;
    if (values.length > 0) {
      const label = values.join(',');
      const fill = output ? '#dbeafe' : '#ffffff';
      half = Math.max(11, (textWidth(label, 12) >> 1) + 6);
      out.push(
        `<rect x="${cx - half}" y="${y - 11}" width="${2 * half}" height="22" rx="11" fill="${fill}" stroke="${INK}" stroke-width="1.5"/>`,
        `<text x="${cx}" y="${y + 4}" text-anchor="middle" fill="${INK}">${esc(label)}</text>`,
      );
    }
    const ex = values.length > 0 ? cx + half + 6 : cx;
    for (const m of marks) {
      if (m.kind === 'complete') {
        out.push(
          `<line x1="${ex}" y1="${y - 12}" x2="${ex}" y2="${y + 12}" stroke="${INK}" stroke-width="2.5"/>`,
        );
      } else if (m.kind === 'error') {
        out.push(
          `<path d="M${ex - 7},${y - 7}L${ex + 7},${y + 7}M${ex - 7},${y + 7}L${ex + 7},${y - 7}" stroke="${ERROR}" stroke-width="2.5"/>`,
          `<text x="${ex}" y="${y + 24}" font-size="11" text-anchor="middle" fill="${ERROR}">${esc(m.label)}</text>`,
        );
      }
    }
  }
}

function annotationRow(out: string[], row: Row, y: number, x: (f: number) => number): void {
  rowLabel(out, row.name, y, NOTE);
  out.push(
    `<line x1="${X0 - 8}" y1="${y}" x2="${X1}" y2="${y}" stroke="#fcd9a8" stroke-dasharray="4 3"/>`,
  );
  let freeAbove = 0; // first x where a note above the line does not overlap the previous one
  for (const m of row.marks) {
    const cx = x(m.frame);
    if (m.kind === 'span') {
      const w = Math.max(4, x(m.end) - cx);
      const inside = textWidth(m.label, 11) + 8 <= w; // else the label goes above the span
      out.push(
        `<rect x="${cx}" y="${y - 9}" width="${w}" height="18" rx="3" fill="#fde7c8" stroke="#d97706"/>`,
        `<text x="${cx + 4}" y="${inside ? y + 4 : y - 13}" font-size="11" fill="${NOTE}">${esc(m.label)}</text>`,
      );
    } else if (m.kind === 'note') {
      const above = cx - 4 >= freeAbove;
      const ty = above ? y - 9 : y + 18;
      if (above) freeAbove = cx - 4 + textWidth(m.label, 11) + 8;
      out.push(
        `<polygon points="${cx},${y - 5} ${cx + 5},${y} ${cx},${y + 5} ${cx - 5},${y}" fill="${NOTE}"/>`,
        `<text x="${cx - 4}" y="${ty}" font-size="11" fill="${NOTE}">${esc(m.label)}</text>`,
      );
    }
  }
}
