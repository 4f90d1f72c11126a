/**
 * Per-keystroke cost of the typed-response suggestions with the paper's vocabulary size (793
 * labels), against the straightforward way measured in the same run:
 * - matching: LabelIndex.suggest (built once; binary search + one indexOf pass) vs filtering all
 *   labels with toLowerCase/includes and sorting the matches, every keystroke;
 * - display (jsdom): rewriting the text of a fixed pool of 8 option nodes vs rebuilding the list
 *   with one node per matching label, every keystroke.
 *
 *   node --import tsx bench/typed-suggestions.ts [--labels 793] [--rounds 5]
 */
import { JSDOM } from 'jsdom';
import { LabelIndex, normalizeLabel } from '../experiment/plugins/label-index.ts';
import { vocabulary } from '../test/fixtures/vocabulary.ts';
import { median } from './support.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const N = arg('labels', 793);
const ROUNDS = arg('rounds', 5);
const LIMIT = 8;

const labels = vocabulary(N);
// What participants type: every prefix of 200 of the labels, as the keystrokes arrive.
const queries = labels.slice(0, 200).flatMap((l) => Array.from({ length: l.length }, (_, i) => l.slice(0, i + 1)));

function naiveMatches(text: string): string[] {
  const q = text.trim().toLowerCase();
  const hits = labels.filter((l) => l.toLowerCase().includes(q));
  return hits.sort((a, b) => {
    const pa = a.toLowerCase().startsWith(q) ? 0 : 1;
    const pb = b.toLowerCase().startsWith(q) ? 0 : 1;
    return pa - pb || a.localeCompare(b);
  });
}

function time(run: () => void): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

const dom = new JSDOM('<!doctype html><ul id="pool"></ul><ul id="full"></ul>');
const document = dom.window.document;
const pool = document.getElementById('pool')!;
const texts: Text[] = [];
const options: HTMLLIElement[] = [];
for (let i = 0; i < LIMIT; i++) {
  const li = document.createElement('li');
  texts.push(li.appendChild(document.createTextNode('')));
  options.push(li);
  pool.append(li);
}
const full = document.getElementById('full')!;

const index = new LabelIndex(labels);
const rows: Record<string, number[]> = { naiveMatch: [], indexMatch: [], fullRender: [], poolRender: [] };
let sink = 0;
for (let r = 0; r < ROUNDS; r++) {
  rows.naiveMatch!.push(
    time(() => {
      for (const q of queries) sink += naiveMatches(q).slice(0, LIMIT).length;
    }),
  );
  rows.indexMatch!.push(
    time(() => {
      for (const q of queries) sink += index.suggest(q, LIMIT).length;
    }),
  );
  rows.fullRender!.push(
    time(() =>
      queries.forEach((q) => {
        full.replaceChildren(
          ...naiveMatches(q).map((l) => {
            const li = document.createElement('li');
            li.textContent = l;
            return li;
          }),
        );
      }),
    ),
  );
  rows.poolRender!.push(
    time(() =>
      queries.forEach((q) => {
        const shown = index.suggest(q, LIMIT);
        for (let i = 0; i < LIMIT; i++) {
          const label = shown[i];
          if (label !== undefined && texts[i]!.data !== label) texts[i]!.data = label;
          options[i]!.hidden = label === undefined;
        }
      }),
    ),
  );
}
// Same answers, or the comparison means nothing.
for (const q of queries.slice(0, 500)) {
  const want = naiveMatches(q).map(normalizeLabel).slice(0, LIMIT);
  const got = index.suggest(q, LIMIT).map(normalizeLabel);
  if (want.join() !== got.join()) throw new Error(`suggestions differ for "${q}": ${want} vs ${got}`);
}

const per = (ms: number) => ((ms / queries.length) * 1000).toFixed(1);
const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
console.log(`${N} labels, ${queries.length} keystrokes, median of ${ROUNDS} rounds (sink ${sink % 7})`);
console.log(
  `matching: naive ${per(m.naiveMatch!)} µs/key, index ${per(m.indexMatch!)} µs/key, ratio index/naive ${(m.indexMatch! / m.naiveMatch!).toFixed(3)}`,
);
console.log(
  `display (jsdom, incl. matching): rebuild ${per(m.fullRender!)} µs/key, pool ${per(m.poolRender!)} µs/key, ratio pool/rebuild ${(m.poolRender! / m.fullRender!).toFixed(3)}`,
);
