/**
 * The recognizability table, figure and statistics on the dashboard, computed by the analysis
 * module as `metamer analyze <study> --compare all` computes them (same loader, same defaults:
 * 10,000 bootstrap replicates, seed 1, the study's exclusion rules and level choice), so the page,
 * its downloads and the CLI agree. The ANOVAs carry their F-distribution p-values with MATLAB
 * ranova's sphericity corrections (cheap: one pass over the data); the permutation tests, seconds
 * to minutes of CPU, are left to the CLI, so the dashboard runs them with 0 permutations.
 *
 * Results are cached per study under a data version the caller derives from the session counts,
 * so a dashboard polled every few seconds recomputes only when a participant's data changed.
 */
import { type AnalysisResult, analyzeCounts, DEFAULT_ANALYZE_OPTIONS } from '../../analysis/analyze.ts';
import type { ParticipantFlags } from '../../analysis/exclusions.ts';
import { recognizabilityFigureSvg } from '../../analysis/figure.ts';
import { loadStudyFromDb, type StudyDataSource } from '../../analysis/load-study-db.ts';
import { readAnalysisConfig } from '../../analysis/study-db-analysis.ts';
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

export interface CachedAnalysis {
  /** The data version the result was computed for. */
  version: string;
  computedAt: number;
  /** How long loading and computing took. */
  costMs: number;
  result: AnalysisResult;
  svg?: Promise<string>;
}

/**
 * A study with 500 participants × 416 trials takes about half a second to load and bootstrap, and
 * both block the event loop (synchronous SQLite, 10,000 replicates). The live page therefore keeps
 * a result for at least 20× its cost (and 2 s), so the analysis never takes more than ~5% of the
 * server's time however many completions arrive; downloads always get the current data.
 */
export function liveStaleMs(costMs: number): number {
  return Math.max(2_000, 20 * costMs);
}

export class StudyAnalyses {
  private readonly cache = new Map<string, CachedAnalysis>();
  /** One computation per study and version at a time: a burst of page loads waits for the same one. */
  private readonly pending = new Map<string, Promise<CachedAnalysis>>();

  constructor(
    private readonly source: StudyDataSource,
    private readonly opts: { bootstrap?: number; now?: () => number } = {},
  ) {}

  /**
   * The result for `version`; `live`: a recent result for an older version will do (see liveStaleMs).
   * `flags`: the participants' quality flags, when the study's exclusions use them.
   */
  async get(studyId: string, version: string, live = false, flags?: ParticipantFlags): Promise<CachedAnalysis> {
    const now = (this.opts.now ?? Date.now)();
    const hit = this.cache.get(studyId);
    if (hit && (hit.version === version || (live && now - hit.computedAt < liveStaleMs(hit.costMs)))) return hit;
    const key = `${studyId}\u0000${version}`;
    let p = this.pending.get(key);
    if (!p) {
      p = this.compute(studyId, version, now, flags).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async compute(studyId: string, version: string, now: number, flags?: ParticipantFlags): Promise<CachedAnalysis> {
    const started = performance.now();
    const s = await loadStudyFromDb(this.source, studyId);
    const config = await readAnalysisConfig(this.source, studyId);
    const result = analyzeCounts(s.counts, {
      bootstrap: this.opts.bootstrap ?? DEFAULT_ANALYZE_OPTIONS.bootstrap,
      seed: DEFAULT_ANALYZE_OPTIONS.seed,
      exclusions: s.exclusions,
      flags,
      choices: s.choices,
      levels: {
        layers: config.layers,
        dropLayers: config.drop_layers,
        source: { layers: 'study config analysis.layers', dropLayers: 'study config analysis.drop_layers' },
      },
      compare: 'all',
      // Models with different numbers of layers, or too few participants yet: a note, not an error page.
      anovaProblems: 'note',
      permutations: 0,
      predictions: s.predictions,
      stimuli: s.stimuli,
    });
    const entry: CachedAnalysis = { version, computedAt: now, costMs: performance.now() - started, result };
    this.cache.set(studyId, entry);
    return entry;
  }

  /** The figure of a cached result as SVG, or null while no participant is included. */
  figure(entry: CachedAnalysis): Promise<string> | null {
    if (entry.result.exclusions.participants_included === 0) return null;
    entry.svg ??= recognizabilityFigureSvg(entry.result.table, { width: 360, height: 240 });
    return entry.svg;
  }
}
