/**
 * The recognizability table and figure on the dashboard, computed by the analysis module exactly
 * as `metamer analyze <study>` computes them (same loader, same defaults: 10,000 bootstrap
 * replicates, seed 1, the study's exclusion rules), so the page, its downloads and the CLI agree.
 * The statistics (ANOVAs, permutations) are the CLI's job; the dashboard shows the table.
 *
 * Results are cached per study under a data version the caller derives from the session counts,
 * so a dashboard polled every few seconds recomputes only when a participant's data changed.
 */
import { type AnalysisResult, analyzeCounts, DEFAULT_ANALYZE_OPTIONS } from '../../analysis/analyze.ts';
import { recognizabilityFigureSvg } from '../../analysis/figure.ts';
import { loadStudyFromDb } from '../../analysis/load-study-db.ts';
import type { StudyProgress } from '../admin-progress.ts';

/**
 * What the table depends on. With the default rule "exclude incomplete sessions", only finished
 * sessions enter, so the version moves when a session ends; otherwise with every stored trial.
 */
export function analysisVersion(p: StudyProgress, excludeIncomplete: boolean): string {
  const s = p.sessions;
  const completed = p.conditions.reduce((n, c) => n + c.completed_trials, 0);
  const parts = [s.started, s.completed, s.screened_out, s.abandoned, completed];
  if (!excludeIncomplete) parts.push(p.conditions.reduce((n, c) => n + c.in_progress_trials, 0));
  return parts.join('.');
}

interface Cached {
  version: string;
  result: AnalysisResult;
  svg?: Promise<string>;
}

export class StudyAnalyses {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly dbFile: string,
    private readonly opts: { bootstrap?: number } = {},
  ) {}

  result(studyId: string, version: string): AnalysisResult {
    const hit = this.cache.get(studyId);
    if (hit && hit.version === version) return hit.result;
    const s = loadStudyFromDb(this.dbFile, studyId);
    const result = analyzeCounts(s.counts, {
      bootstrap: this.opts.bootstrap ?? DEFAULT_ANALYZE_OPTIONS.bootstrap,
      seed: DEFAULT_ANALYZE_OPTIONS.seed,
      exclusions: s.exclusions,
      choices: s.choices,
      statistics: false,
    });
    this.cache.set(studyId, { version, result });
    return result;
  }

  /** The figure as SVG, or null while no participant is included. */
  async figure(studyId: string, version: string): Promise<string | null> {
    const result = this.result(studyId, version);
    if (result.table.every((r) => r.n_participants === 0)) return null;
    const entry = this.cache.get(studyId)!;
    entry.svg ??= recognizabilityFigureSvg(result.table, { width: 360, height: 240 });
    return entry.svg;
  }
}
