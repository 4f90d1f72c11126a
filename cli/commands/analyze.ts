/**
 * `metamer analyze <study> | --trials <file.csv...>`: exclusions, the recognizability table, the
 * paper's statistics and the figure (docs/design.md §4–5; docs/analysis.md). Thin: parses options, loads,
 * calls analysis/, writes.
 */
import type cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AnalysisResult, AnalyzeOptions } from '../../analysis/analyze.ts';
import type { ExclusionRules } from '../../analysis/exclusions.ts';
import type { LevelChoice } from '../../analysis/level-choice.ts';
import type { OtherModelStimuli, Prediction } from '../../analysis/other-model.ts';
import type { PermutationScheme } from '../../analysis/permutation.ts';
import { integer, list } from './option-parsers.ts';

interface AnalyzeCliOptions {
  trials?: string[];
  studyId?: string;
  choices?: number;
  predictions?: string;
  excludeIncomplete?: boolean;
  excludeScreenedOut?: boolean;
  excludeFlagged?: boolean;
  excludeCatchBelow?: number;
  excludeNaturalBelow?: number;
  bootstrap: number;
  bootstrapTrials?: boolean;
  ci: number;
  permutations: number;
  permutationScheme: PermutationScheme;
  seed: number;
  compare?: string;
  layers?: string[];
  dropLayers?: string[];
  otherModelStimuli: OtherModelStimuli;
  format: 'csv' | 'json' | 'md';
  json?: boolean;
  plot?: string;
  out?: string;
  progress?: boolean;
}

function fraction(open: boolean): (v: string) => number {
  return (v) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1 || (open && (x === 0 || x === 1))) {
      throw new InvalidArgumentError(`expected a number ${open ? 'strictly ' : ''}between 0 and 1, got "${v}"`);
    }
    return x;
  };
}

/** The command line's level choice over the study config's `analysis` block, list by list. */
function levelChoice(o: AnalyzeCliOptions, config: { layers?: string[]; drop_layers?: string[] } = {}): LevelChoice {
  return {
    layers: o.layers ?? config.layers ?? null,
    dropLayers: o.dropLayers ?? config.drop_layers ?? null,
    source: {
      layers: o.layers || !config.layers ? '--layers' : 'study config analysis.layers',
      dropLayers: o.dropLayers || !config.drop_layers ? '--drop-layers' : 'study config analysis.drop_layers',
    },
  };
}

function mergeRules(base: ExclusionRules, o: AnalyzeCliOptions): ExclusionRules {
  return {
    incomplete: o.excludeIncomplete ?? base.incomplete,
    screened_out: o.excludeScreenedOut ?? base.screened_out,
    flagged: o.excludeFlagged ?? base.flagged,
    catch_min_accuracy: o.excludeCatchBelow ?? base.catch_min_accuracy,
    natural_min_accuracy: o.excludeNaturalBelow ?? base.natural_min_accuracy,
  };
}

/** A progress bar on stderr, one per stage; silent unless enabled. */
function progressReporter(bars: typeof cliProgress | null): { onProgress?: AnalyzeOptions['onProgress']; stop: () => void } {
  if (!bars) return { stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let stage = '';
  return {
    onProgress: (s, done, total) => {
      if (s !== stage || !bar) {
        bar?.stop();
        stage = s;
        bar = new bars.SingleBar(
          {
            format: `${s.padEnd(20)} [{bar}] {percentage}% | {value}/{total}`,
            stream: process.stderr,
            hideCursor: false,
            // Asked for explicitly (--progress) on a non-terminal: still draw, once per update.
            noTTYOutput: true,
            notTTYSchedule: 0,
          },
          bars.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

/** The study's quality flags by participant, from the server's store (server/session-quality.ts). */
async function flagsOf(database: string, studyId: string) {
  const [{ participantFlags }, { withStore }] = await Promise.all([
    import('../../server/session-quality.ts'),
    import('../../server/store/open-store.ts'),
  ]);
  return withStore(database, async (store) => participantFlags(store, (await store.getStudy(studyId))!));
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description("recognizability per model and layer, with exclusions, CIs, the paper's statistics and a figure")
    .argument('[study]', 'study id in the database (see --db)')
    .option('--trials <files...>', 'analyse trials CSV file(s) instead of a study in the database')
    .option('--study-id <id>', 'study id for CSV rows without a study_id column (default: file name)')
    .option('--choices <n>', 'number of response choices; chance = 1/n (the database knows it from the stimulus set)', integer(2))
    .option(
      '--predictions <file>',
      'observer-model predictions CSV (stimulus_id, observer_model, predicted_category) for other-model recognizability',
    )
    .option('--exclude-incomplete', 'exclude participants whose session did not complete (overrides the study config)')
    .option('--no-exclude-incomplete', 'keep participants whose session did not complete')
    .option('--exclude-screened-out', 'exclude participants who failed screening (overrides the study config)')
    .option('--no-exclude-screened-out', 'keep participants who failed screening')
    .option('--exclude-flagged', 'exclude participants whose session has quality flags (docs/integrity.md; overrides the study config)')
    .option('--no-exclude-flagged', 'keep participants whose session has quality flags')
    .option('--exclude-catch-below <p>', 'exclude participants with catch-trial accuracy below p (0 = off)', fraction(false))
    .option('--exclude-natural-below <p>', 'exclude participants with natural-condition accuracy below p (0 = off)', fraction(false))
    .option('--bootstrap <n>', 'bootstrap replicates for the CIs (0 = no CIs)', integer(0), 10_000)
    .option('--bootstrap-trials', 'two-stage bootstrap: also resample trials within each participant × condition')
    .option('--ci <level>', 'CI coverage', fraction(true), 0.95)
    .option('--permutations <n>', 'permutations for every permutation test (0 = F-distribution p-values only)', integer(0), 10_000)
    .option('--seed <s>', 'seed for the bootstrap and permutations', integer(0), 1)
    .addOption(
      new Option(
        '--permutation-scheme <scheme>',
        "paper: the authors' shuffles and p convention; restricted: the stricter restricted permutations (docs/analysis.md)",
      )
        .choices(['paper', 'restricted'] satisfies PermutationScheme[])
        .default('paper'),
    )
    .option('--compare <models>', 'models for the model × layer ANOVA: "a,b,…" or "all"; one model: the one-way ANOVA over its levels')
    .option('--layers <names>', 'only these levels in the table and statistics: layer, model/layer or natural, comma-separated', list)
    .option('--drop-layers <names>', 'leave these levels out (same forms as --layers), e.g. final', list)
    .addOption(
      new Option(
        '--other-model-stimuli <which>',
        "other-model recognizability over every stimulus of a condition (all, the paper's) or only those in main trials",
      )
        .choices(['all', 'trials'] satisfies OtherModelStimuli[])
        .default('all'),
    )
    .addOption(new Option('--format <format>', 'output format (csv: the table only)').choices(['csv', 'json', 'md']).default('md'))
    .option('--json', 'same as --format json')
    .option('--plot <file.svg>', 'also write the figure (recognizability vs layer) as SVG')
    .option('--out <file>', 'write the output to a file instead of stdout')
    .option('--progress', 'show a progress bar on stderr (default: when stderr is a terminal)')
    .option('--no-progress', 'never show a progress bar')
    .action(async (study: string | undefined, o: AnalyzeCliOptions, cmd: Command) => {
      if (o.json) o.format = 'json';
      if (!study === !o.trials) cmd.error('error: give either a study id or --trials <file.csv>', { exitCode: 2, code: 'metamer.usage' });
      if (o.trials && o.trials.length > 1 && o.studyId)
        cmd.error('error: --study-id applies to a single --trials file', { exitCode: 2, code: 'metamer.usage' });
      if (o.format === 'csv' && o.compare)
        cmd.error('error: the ANOVA is reported with --format md or json, not csv', { exitCode: 2, code: 'metamer.usage' });
      const compare =
        o.compare === undefined
          ? null
          : o.compare === 'all'
            ? ('all' as const)
            : o.compare
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
      // The analysis modules are loaded here, not at start-up: every other command would pay for them.
      const [analysis, exclusions, errors, db, csv, report, dbExtras, files, paths, stores] = await Promise.all([
        import('../../analysis/analyze.ts'),
        import('../../analysis/exclusions.ts'),
        import('../../analysis/input-error.ts'),
        import('../../analysis/load-study-db.ts'),
        import('../../analysis/load-trials-csv.ts'),
        import('../../analysis/report-format.ts'),
        import('../../analysis/study-db-analysis.ts'),
        import('../../analysis/write-files.ts'),
        import('../paths.ts'),
        import('../../server/store/open-store.ts'),
      ]);
      const { analyzeCounts } = analysis;
      const { DEFAULT_EXCLUSIONS } = exclusions;
      const { AnalysisInputError } = errors;
      const { loadStudyFromDb } = db;
      const { loadPredictionsCsv, loadTrialsCsv } = csv;
      const { resultsToJson, resultToMarkdown, tableToCsv } = report;
      const { readAnalysisConfig, stimuliInTrials } = dbExtras;
      const { databaseFor, openStudyData } = stores;
      const { writeFileAtomically } = files;
      const { dataPaths } = paths;
      const showProgress = o.progress ?? process.stderr.isTTY === true;
      const progress = progressReporter(showProgress ? (await import('cli-progress')).default : null);
      const base: Omit<AnalyzeOptions, 'exclusions' | 'choices'> = {
        bootstrap: o.bootstrap,
        seed: o.seed,
        ciLevel: o.ci,
        bootstrapTrials: !!o.bootstrapTrials,
        permutations: o.permutations,
        permutationScheme: o.permutationScheme,
        compare,
        anovaProblems: 'throw',
        levels: levelChoice(o),
        otherModelStimuli: o.otherModelStimuli,
        statistics: o.format !== 'csv',
        onProgress: progress.onProgress,
      };
      const extraPredictions: Prediction[] = o.predictions ? await loadPredictionsCsv(o.predictions) : [];
      const results: AnalysisResult[] = [];
      try {
        if (study) {
          const database = databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db);
          const source = await openStudyData(database);
          let s: Awaited<ReturnType<typeof loadStudyFromDb>>;
          let config: Awaited<ReturnType<typeof readAnalysisConfig>>;
          let inTrials: Set<string> | undefined;
          try {
            s = await loadStudyFromDb(source, study);
            config = await readAnalysisConfig(source, study);
            inTrials = o.otherModelStimuli === 'trials' ? await stimuliInTrials(source, study) : undefined;
          } finally {
            await source.close();
          }
          const rules = mergeRules(s.exclusions, o);
          results.push(
            analyzeCounts(s.counts, {
              ...base,
              levels: levelChoice(o, config),
              exclusions: rules,
              flags: rules.flagged ? await flagsOf(database, study) : undefined,
              choices: o.choices ?? s.choices,
              predictions: [...s.predictions, ...extraPredictions],
              stimuli: s.stimuli,
              stimuliInTrials: inTrials,
            }),
          );
        } else {
          for (const file of o.trials!) {
            for (const s of await loadTrialsCsv(file, { studyId: o.studyId })) {
              results.push(
                analyzeCounts(s.counts, {
                  ...base,
                  exclusions: mergeRules(DEFAULT_EXCLUSIONS, o),
                  choices: o.choices ?? null,
                  predictions: extraPredictions,
                  stimuli: s.stimuli,
                  stimuliInTrials: new Set(s.stimuli.keys()),
                }),
              );
            }
          }
        }
      } finally {
        progress.stop();
      }
      const text =
        o.format === 'csv'
          ? tableToCsv(results.flatMap((r) => r.table))
          : o.format === 'json'
            ? resultsToJson(results)
            : results.map(resultToMarkdown).join('\n');
      if (o.plot) {
        if (!o.plot.endsWith('.svg')) throw new AnalysisInputError(`--plot ${o.plot}: the figure is written as SVG; name the file *.svg`);
        // vega is loaded only when a figure is asked for: it would slow every `metamer` command.
        const { recognizabilityFigureSvg } = await import('../../analysis/figure.ts');
        writeFileAtomically(o.plot, await recognizabilityFigureSvg(results.flatMap((r) => r.table)));
      }
      if (o.out) writeFileAtomically(o.out, text);
      else process.stdout.write(text);
    });
}
