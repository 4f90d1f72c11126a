/**
 * A repeated-measures design from a tidy CSV (one row per subject × within-subject cell): the
 * input of `metamer anova --data file.csv --subject col --within a,b --dv col [--between col]`,
 * for designs the paper also tests outside the human experiments (e.g. the network-only ANOVA of
 * model × attack size, vision repository experiment 9). Levels are ordered by first appearance.
 * A subject lacking a cell is left out (listwise) and counted; repeated rows for a cell are an
 * error unless `aggregate: 'mean'` averages them (e.g. trial-level 0/1 rows into proportions).
 * Every problem names the file, and the line and column where there is one.
 */
import fs from 'node:fs';
import { parse } from 'csv-parse';
import { type DesignAnova, designAnova } from './design-anova.ts';
import { AnalysisInputError, rethrowCsvError } from './input-error.ts';
import type { PermutationRunOptions } from './permutation.ts';
import type { RmDesign } from './rm-design.ts';

export interface TidySpec {
  subject: string;
  within: readonly string[];
  dv: string;
  between?: string;
  /** Repeated rows for one subject × cell: an error (default) or averaged. */
  aggregate?: 'none' | 'mean';
}

export interface TidyDesign {
  design: RmDesign;
  /** Subject ids in design order. */
  subjects: string[];
  /** Subjects left out for lacking a cell. */
  incomplete: string[];
  rows: number;
}

interface Cell {
  sum: number;
  count: number;
  line: number;
}

export async function loadTidyDesign(file: string, spec: TidySpec): Promise<TidyDesign> {
  if (!fs.existsSync(file)) throw new AnalysisInputError(`${file}: no such file`);
  const columns = [spec.subject, ...spec.within, spec.dv, ...(spec.between ? [spec.between] : [])];
  const twice = columns.find((c, i) => columns.indexOf(c) !== i);
  if (twice !== undefined)
    throw new AnalysisInputError(`column "${twice}" is given for two roles (subject, within, dv, between must differ)`);
  const levels = spec.within.map(() => new Map<string, number>());
  const subjectIndex = new Map<string, number>();
  const subjectGroup: { group: string; line: number }[] = [];
  const cells: Map<string, Cell>[] = [];
  let idx: number[] | null = null;
  let rows = 0;
  const parser = fs.createReadStream(file).pipe(parse({ bom: true, info: true, skip_empty_lines: true }));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!idx) {
        const header = record.map((h) => h.trim());
        idx = columns.map((c) => {
          const i = header.indexOf(c);
          if (i < 0) throw new AnalysisInputError(`${file}: no column "${c}" (columns: ${header.join(', ')})`);
          return i;
        });
        continue;
      }
      const line = info.lines;
      const value = (k: number): string => {
        const v = (record[idx![k]!] ?? '').trim();
        if (v === '') throw new AnalysisInputError(`${file}: line ${line}, column "${columns[k]}": empty`);
        return v;
      };
      const subject = value(0);
      const levelIdx = spec.within.map((_, f) => {
        const name = value(1 + f);
        const known = levels[f]!.get(name);
        if (known !== undefined) return known;
        levels[f]!.set(name, levels[f]!.size);
        return levels[f]!.size - 1;
      });
      const raw = value(1 + spec.within.length);
      const y = Number(raw);
      if (!Number.isFinite(y)) throw new AnalysisInputError(`${file}: line ${line}, column "${spec.dv}": "${raw}" is not a number`);
      let s = subjectIndex.get(subject);
      if (s === undefined) {
        s = subjectIndex.size;
        subjectIndex.set(subject, s);
        cells.push(new Map());
        subjectGroup.push({ group: '', line });
      }
      if (spec.between) {
        const group = value(2 + spec.within.length);
        const known = subjectGroup[s]!;
        if (known.group === '') known.group = group;
        else if (known.group !== group) {
          throw new AnalysisInputError(
            `${file}: line ${line}, column "${spec.between}": subject "${subject}" is in "${group}" here ` +
              `but in "${known.group}" on line ${known.line}`,
          );
        }
      }
      const key = levelIdx.join(',');
      const cell = cells[s]!.get(key);
      if (cell) {
        if (spec.aggregate !== 'mean') {
          throw new AnalysisInputError(
            `${file}: line ${line}: subject "${subject}" already has a value for ` +
              `${describeCell(spec.within, levels, levelIdx)} (line ${cell.line}); pass --aggregate mean to average repeated rows`,
          );
        }
        cell.sum += y;
        cell.count++;
      } else cells[s]!.set(key, { sum: y, count: 1, line });
      rows++;
    }
  } catch (e) {
    rethrowCsvError(file, e);
  }
  if (!idx) throw new AnalysisInputError(`${file}: empty file (expected a header row)`);
  if (rows === 0) throw new AnalysisInputError(`${file}: no data rows`);
  spec.within.forEach((name, f) => {
    if (levels[f]!.size < 2)
      throw new AnalysisInputError(
        `${file}: column "${name}" has one level ("${[...levels[f]!.keys()][0]}"); a within-subject factor needs two or more`,
      );
  });
  const dims = levels.map((l) => l.size);
  const m = dims.reduce((a, b) => a * b, 1);
  const complete: string[] = [];
  const incomplete: string[] = [];
  for (const [subject, s] of subjectIndex) (cells[s]!.size === m ? complete : incomplete).push(subject);
  const g = spec.between ? new Set(complete.map((subject) => subjectGroup[subjectIndex.get(subject)!]!.group)).size : 1;
  if (complete.length - g < 1) {
    throw new AnalysisInputError(`${file}: ${complete.length} subject(s) have every cell (${m} cells); the ANOVA needs more than ${g}`);
  }
  const y = new Float64Array(complete.length * m);
  const cellKeys = cellKeysRowMajor(dims);
  complete.forEach((subject, i) => {
    const own = cells[subjectIndex.get(subject)!]!;
    cellKeys.forEach((key, c) => {
      const cell = own.get(key)!;
      y[i * m + c] = cell.sum / cell.count;
    });
  });
  const design: RmDesign = {
    y,
    n: complete.length,
    within: spec.within.map((name, f) => ({ name, levels: [...levels[f]!.keys()] })),
  };
  if (spec.between) {
    // Groups in order of first appearance among the subjects that stay.
    const groupNames = [...new Set(complete.map((subject) => subjectGroup[subjectIndex.get(subject)!]!.group))];
    if (groupNames.length < 2)
      throw new AnalysisInputError(`${file}: column "${spec.between}": the subjects with every cell are all in one group`);
    const group = Int32Array.from(complete, (subject) => groupNames.indexOf(subjectGroup[subjectIndex.get(subject)!]!.group));
    design.between = { name: spec.between, levels: groupNames, group };
  }
  return { design, subjects: complete, incomplete, rows };
}

/** "a,b" keys of every cell, in row-major order (last factor fastest). */
function cellKeysRowMajor(dims: readonly number[]): string[] {
  let keys: number[][] = [[]];
  for (const l of dims) keys = keys.flatMap((k) => Array.from({ length: l }, (_, i) => [...k, i]));
  return keys.map((k) => k.join(','));
}

function describeCell(within: readonly string[], levels: readonly Map<string, number>[], idx: readonly number[]): string {
  return within.map((name, f) => `${name}=${[...levels[f]!.keys()][idx[f]!]}`).join(', ');
}

export interface TidyAnovaResult extends DesignAnova {
  data: string;
  dv: string;
  subject: string;
  within: { name: string; levels: string[] }[];
  between: { name: string; levels: string[]; sizes: number[] } | null;
  /** Subjects left out for lacking a cell. */
  n_incomplete: number;
  rows: number;
}

/** The ANOVA of a loaded tidy design, with the paper's procedure for its shape (permutation.ts). */
export function tidyAnova(file: string, spec: TidySpec, loaded: TidyDesign, opts: PermutationRunOptions): TidyAnovaResult {
  const { design } = loaded;
  const result = designAnova(design, opts);
  return {
    data: file,
    dv: spec.dv,
    subject: spec.subject,
    within: design.within.map((f) => ({ name: f.name, levels: [...f.levels] })),
    between: design.between ? { name: design.between.name, levels: [...design.between.levels], sizes: result.group_sizes! } : null,
    n_incomplete: loaded.incomplete.length,
    rows: loaded.rows,
    ...result,
  };
}
