/**
 * Matching typed text against a large label set (the paper's 793 words): exact matches and
 * suggestions. Built once per label set; a query costs a binary search for the labels that start
 * with the text plus, when those are too few, one pass of `indexOf` for labels that contain it
 * (793 short strings: microseconds), so typing never waits on it.
 */

/** Letter case, Unicode composition and runs of spaces do not make a different answer. */
export function normalizeLabel(s: string): string {
  return s.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

export class LabelIndex {
  /** Normalised labels, sorted (code-unit order, matching the binary search's comparisons). */
  private readonly keys: string[] = [];
  /** The original labels, in `keys` order. */
  private readonly labels: string[] = [];
  private readonly byKey = new Map<string, string>();

  constructor(labels: readonly string[]) {
    for (const label of labels) {
      const key = normalizeLabel(label);
      // Labels equal up to case would be ambiguous to type; the first one stands for both.
      if (key === '' || this.byKey.has(key)) continue;
      this.byKey.set(key, label);
    }
    const sorted = [...this.byKey.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of sorted) {
      this.keys.push(key);
      this.labels.push(this.byKey.get(key)!);
    }
  }

  get size(): number {
    return this.keys.length;
  }

  /** The label the text names exactly (up to case and spacing), if any. */
  exact(text: string): string | undefined {
    return this.byKey.get(normalizeLabel(text));
  }

  /** Up to `limit` labels: those starting with the text (alphabetically), then those containing it. */
  suggest(text: string, limit: number): string[] {
    const q = normalizeLabel(text);
    if (q === '' || limit <= 0) return [];
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < q) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < this.keys.length && out.length < limit && this.keys[i]!.startsWith(q); i++) out.push(this.labels[i]!);
    for (let i = 0; i < this.keys.length && out.length < limit; i++) {
      if (this.keys[i]!.indexOf(q) > 0) out.push(this.labels[i]!);
    }
    return out;
  }
}

const indexes = new WeakMap<readonly string[], LabelIndex>();

/** One index per label array: a session's trials share the study's choices array. */
export function labelIndexFor(labels: readonly string[]): LabelIndex {
  let index = indexes.get(labels);
  if (!index) {
    index = new LabelIndex(labels);
    indexes.set(labels, index);
  }
  return index;
}
