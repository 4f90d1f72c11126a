/**
 * The small text files that fix an order: `categories.txt` (button order) and `<model>/layers.txt`
 * (network order). One name per line; blank lines and lines starting with `#` are skipped;
 * surrounding spaces are trimmed. A name listed twice is an error, because order is the point.
 */
import fs from 'node:fs/promises';
import type { Problems } from './problems.ts';

export function parseNameList(text: string, shown: string, problems: Problems, what: string): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const name = raw.trim();
    if (name === '' || name.startsWith('#')) continue;
    if (seen.has(name)) {
      problems.add(shown, `line ${i + 1}`, `${what} "${name}" is listed twice`);
      continue;
    }
    seen.add(name);
    names.push(name);
  }
  if (names.length === 0) problems.add(shown, undefined, `no ${what}s listed`);
  return names;
}

export async function readNameList(abs: string, shown: string, problems: Problems, what: string): Promise<string[] | null> {
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (e) {
    problems.add(shown, undefined, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return null;
  }
  return parseNameList(text, shown, problems, what);
}

/**
 * `--layers model=l1,l2,...` (repeatable) into a map. Throws a user error on a malformed value,
 * since that is a command-line mistake rather than a problem in the set.
 */
export function parseLayersFlag(values: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const m = /^([^=]+)=(.+)$/.exec(v);
    const layers = m
      ? m[2]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    if (!m || layers.length === 0) {
      throw Object.assign(new Error(`--layers ${v}: expected <model>=<layer1>,<layer2>,…`), { expose: true as const });
    }
    const model = m[1]!.trim();
    if (out[model]) throw Object.assign(new Error(`--layers: model "${model}" given twice`), { expose: true as const });
    if (new Set(layers).size !== layers.length) {
      throw Object.assign(new Error(`--layers ${v}: a layer is listed twice`), { expose: true as const });
    }
    out[model] = layers;
  }
  return out;
}
