/**
 * `metamer export <study> --format csv|json|psych-ds --out <dir>`: the study's tidy trials
 * (pseudonymous: participant_id is the keyed hash), as CSV, JSON or a Psych-DS dataset (folder, or
 * zip with --zip). Files appear only when complete.
 */
import path from 'node:path';
import { type Command, Option } from 'commander';
import { psychDsDataFile, psychDsDataset, psychDsZip } from '../../analysis/psych-ds.ts';
import { loadTrialsExport, trialsToCsv, trialsToJson } from '../../analysis/trials-export.ts';
import { writeFilesAtomically } from '../../analysis/write-files.ts';
import { dataPaths } from '../paths.ts';
import { databaseFor, openStudyData } from '../../server/store/open-store.ts';

interface ExportCliOptions {
  format: 'csv' | 'json' | 'psych-ds';
  out: string;
  zip?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description("export a study's trials (pseudonymous) as CSV, JSON or a Psych-DS dataset")
    .argument('<study>', 'study id in the database (see --db)')
    .addOption(new Option('--format <format>', 'what to write').choices(['csv', 'json', 'psych-ds']).default('csv'))
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--zip', 'psych-ds only: write the dataset as one zip file instead of a folder')
    .option('--json', 'print the written files as JSON')
    .action(async (study: string, o: ExportCliOptions, cmd: Command) => {
      if (o.zip && o.format !== 'psych-ds') cmd.error('error: --zip applies to --format psych-ds', { exitCode: 2, code: 'metamer.usage' });
      const source = await openStudyData(databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db));
      const exp = await loadTrialsExport(source, study).finally(() => source.close());
      let files: Record<string, string | Uint8Array>;
      if (o.format === 'csv') files = { [`${study}_trials.csv`]: trialsToCsv(exp) };
      else if (o.format === 'json') files = { [`${study}_trials.json`]: trialsToJson(exp) };
      else {
        const dataset = psychDsDataset(exp);
        const folder = path.basename(psychDsDataFile(study), '_data.csv');
        files = o.zip ? { [`${folder}_psych-ds.zip`]: psychDsZip(dataset, folder) } : dataset;
      }
      const written = writeFilesAtomically(o.out, files);
      process.stdout.write(
        o.json
          ? `${JSON.stringify({ study, format: o.format, trials: exp.rows.length, files: written }, null, 2)}\n`
          : `${exp.rows.length} trials of study ${study} written:\n${written.map((f) => `  ${f}`).join('\n')}\n`,
      );
    });
}
