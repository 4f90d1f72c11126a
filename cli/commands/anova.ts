/**
 * `metamer anova --data file.csv --subject col --within a,b --dv col [--between col]`: the
 * repeated-measures (or mixed) ANOVA of any tidy CSV, with the same output blocks as
 * `metamer analyze` — sphericity corrections, Mauchly's test and permutation p-values by the
 * paper's procedure or the restricted one (docs/analysis.md). Thin: parses, loads, calls, writes.
 * The analysis modules are imported inside the action, so `metamer --help` does not load them.
 */
import { type Command, Option } from 'commander';
import { integer, list } from './option-parsers.ts';

interface AnovaCliOptions {
  data: string;
  subject: string;
  within: string[];
  dv: string;
  between?: string;
  aggregate: 'none' | 'mean';
  permutations: number;
  permutationScheme: 'paper' | 'restricted';
  seed: number;
  format: 'json' | 'md';
  json?: boolean;
  out?: string;
}

export function register(program: Command): void {
  program
    .command('anova')
    .description('repeated-measures ANOVA of a tidy CSV (one row per subject × cell), with sphericity corrections and permutation tests')
    .requiredOption('--data <file.csv>', 'tidy CSV: one row per subject and within-subject cell')
    .requiredOption('--subject <column>', 'column identifying the subject (participant, seed, …)')
    .requiredOption('--within <columns>', 'within-subject factor column(s), comma-separated', list)
    .requiredOption('--dv <column>', 'column with the dependent variable (a number)')
    .option('--between <column>', 'one between-subjects factor column (constant within a subject)')
    .addOption(
      new Option('--aggregate <how>', 'repeated rows for one subject × cell: an error (none) or their mean')
        .choices(['none', 'mean'])
        .default('none'),
    )
    .option('--permutations <n>', 'permutations per effect (0 = F-distribution p-values only)', integer(0), 10_000)
    .addOption(
      new Option(
        '--permutation-scheme <scheme>',
        "paper: the authors' shuffles and p convention; restricted: the stricter restricted permutations",
      )
        .choices(['paper', 'restricted'])
        .default('paper'),
    )
    .option('--seed <s>', 'seed for the permutations', integer(0), 1)
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'md']).default('md'))
    .option('--json', 'same as --format json')
    .option('--out <file>', 'write the output to a file instead of stdout')
    .action(async (o: AnovaCliOptions) => {
      const { loadTidyDesign, tidyAnova } = await import('../../analysis/anova-tidy.ts');
      const { tidyAnovaToMarkdown, anovaResultToJson } = await import('../../analysis/report-format.ts');
      const { writeFileAtomically } = await import('../../analysis/write-files.ts');
      const spec = { subject: o.subject, within: o.within, dv: o.dv, between: o.between, aggregate: o.aggregate };
      const loaded = await loadTidyDesign(o.data, spec);
      const result = tidyAnova(o.data, spec, loaded, { permutations: o.permutations, seed: o.seed, scheme: o.permutationScheme });
      const text = o.json || o.format === 'json' ? anovaResultToJson(result) : tidyAnovaToMarkdown(result);
      if (o.out) writeFileAtomically(o.out, text);
      else process.stdout.write(text);
    });
}
