/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */

export type Align = 'left' | 'right';

export function textTable(rows: readonly (readonly string[])[], align: readonly Align[] = [], indent = ''): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [c, cell] of r.entries()) widths[c] = Math.max(widths[c] ?? 0, cell.length);
  }
  const pad = (cell: string, c: number) => (align[c] === 'right' ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!));
  return rows.map((r) => indent + r.map(pad).join('  ').trimEnd());
}
