/**
 * `metamer stimuli import|validate|list`: getting stimulus sets into the platform. Thin: parses
 * flags, calls stimuli/import.ts, saves with saveStimulusSet, prints. Problems in a set print one
 * per line (`file: field: message`) and exit 1 with nothing stored.
 */
import { type Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BlobStore } from '../../stimuli/blob-store.ts';
import {
  IMPORT_FORMATS,
  type ImportFormat,
  type ImportOptions,
  type ImportReport,
  type Problem,
  StimulusSetError,
  formatProblem,
  importStimulusSet,
  validateStimulusSet,
} from '../../stimuli/import.ts';
import { parseLayersFlag } from '../../stimuli/name-lists.ts';
import { databaseFor, openStore } from '../../server/store/open-store.ts';
import { SetExistsError, manifestDigest } from '../../server/store/stimulus-sets.ts';
import { Manifest } from '../../stimuli/manifest.ts';
import { exportStatic } from '../../stimuli/static-export.ts';
import { loadStimulusKey, StimulusKeys } from '../../server/stimulus-keys.ts';
import { dataPaths } from '../paths.ts';
import { HEADPHONE_TESTS, HeadphoneStimuli, headphoneKit } from '../../server/headphone-stimuli.ts';
import { registerExample } from './stimuli-example.ts';

interface SetFlags {
  from?: ImportFormat;
  layers?: string[];
  categoriesFile?: string;
  sourceCategories?: string;
  modelNames?: string;
  naturalFrom?: string;
  practice?: string;
  progress?: boolean;
  json?: boolean;
}

function withSetOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--from <format>', 'layout of the folder (default: detected; see docs/stimulus-sets.md)').choices([...IMPORT_FORMATS]),
    )
    .option('--layers <model=l1,l2,...>', 'layer order of a model, in network order (repeatable)', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--categories-file <file>', 'categories in button order, one per line')
    .option('--source-categories <file>', 'web-layout: source index → category (CSV source,category or JSON)')
    .option('--model-names <a,b,...>', 'model-metamers: model names, one per folder (default: folder names)')
    .option('--natural-from <model>', "model-metamers: natural stimuli from this model's folder only (copies elsewhere not compared)")
    .option('--practice <dir>', 'model-metamers/web-layout: practice stimuli as <category>/<source>.<ext>')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .option('--json', 'print JSON');
}

function scanOptions(flags: SetFlags): ImportOptions {
  const opts: ImportOptions = {};
  if (flags.from) opts.from = flags.from;
  if (flags.layers) opts.layers = parseLayersFlag(flags.layers);
  if (flags.categoriesFile) opts.categoriesFile = flags.categoriesFile;
  if (flags.sourceCategories) opts.sourceCategories = flags.sourceCategories;
  if (flags.modelNames) opts.modelNames = flags.modelNames.split(',').map((s) => s.trim());
  if (flags.naturalFrom) opts.naturalFrom = flags.naturalFrom;
  if (flags.practice) opts.practice = flags.practice;
  return opts;
}

/** A bar on stderr, only for a person watching (a TTY) or when asked; stdout stays data. */
function progressBar(flags: SetFlags): { onProgress?: (done: number, total: number) => void; stop: () => void } {
  if (!flags.progress && !process.stderr.isTTY) return { stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'reading {bar} {value}/{total} files ({percentage}%, {eta_formatted} left)',
      etaBuffer: 200,
      // Asked for with --progress on a pipe or log file: print a line now and then instead of redrawing.
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (done, total) => {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function printProblems(problems: Problem[], flags: SetFlags, what: string): void {
  if (flags.json) process.stdout.write(JSON.stringify({ ok: false, problems }, null, 2) + '\n');
  else for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
  process.stderr.write(`metamer: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${what}; nothing imported\n`);
  process.exitCode = 1;
}

export function formatReport(r: ImportReport): string {
  const lines: string[] = [];
  lines.push(
    `${r.modality} set "${r.name}" (${r.layout} layout): ${r.categories} categories, ${r.sources} sources, ` +
      `${r.practice} practice, ${r.metamers} metamers; ${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB`,
  );
  for (const m of r.models) {
    lines.push(`model ${m.model}`);
    const w = Math.max(...m.layers.map((l) => l.layer.length));
    for (const l of m.layers) {
      const missing = l.missing_sources.length;
      const shown = l.missing_sources.slice(0, 10).join(', ') + (missing > 10 ? `, … (${missing - 10} more)` : '');
      lines.push(
        `  ${String(l.layer_index).padStart(2)} ${l.layer.padEnd(w)}  ${l.metamers} metamers` +
          (missing ? `; ${missing} source${missing === 1 ? '' : 's'} without one (natural shown instead): ${shown}` : ''),
      );
    }
  }
  if (r.modality === 'image')
    lines.push(`masks: ${r.masks.count}${r.masks.generated ? ' generated (multi-scale pink noise)' : ' from the set'}`);
  const ignored = Object.entries(r.ignored);
  if (ignored.length) lines.push(`ignored: ${ignored.map(([why, n]) => `${n} ${why}`).join('; ')}`);
  return lines.join('\n');
}

/** The headphone checks' stored sound (the volume-setting one; trial sounds are made per session by the server). */
function headphoneBlobs(test: (typeof HEADPHONE_TESTS)[number]): { sha256: string; ext: 'wav' }[] {
  return [{ sha256: headphoneKit(test).calibration.sha256, ext: 'wav' }];
}

export function register(program: Command): void {
  const stimuli = program.command('stimuli').description('import, validate and list stimulus sets');
  registerExample(stimuli);

  withSetOptions(
    stimuli
      .command('import <dir...>')
      .description('check a stimulus set and store it (all or nothing); re-importing the same set changes nothing')
      .option('--name <set>', "name of the set (default: the manifest's name or the folder's name)"),
  ).action(async (dirs: string[], flags: SetFlags & { name?: string }, cmd: Command) => {
    const paths = dataPaths(cmd.optsWithGlobals().db as string);
    const opts = scanOptions(flags);
    if (flags.name) opts.name = flags.name;
    const store = await openStore(databaseFor(paths.db));
    const bar = progressBar(flags);
    try {
      const { manifest, report } = await importStimulusSet(dirs, {
        ...opts,
        blobs: new BlobStore(paths.blobs),
        ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
        beforeCommit: async (m) => {
          // Refuse a taken name before any file enters the store.
          const existing = await store.getStimulusSet(m.name);
          if (existing && manifestDigest(Manifest.parse(existing)) !== manifestDigest(Manifest.parse(m))) throw new SetExistsError(m.name);
        },
      });
      bar.stop();
      const outcome = await store.saveStimulusSet(manifest);
      if (flags.json) process.stdout.write(JSON.stringify({ ok: true, outcome, report }, null, 2) + '\n');
      else {
        process.stdout.write(formatReport(report) + '\n');
        process.stdout.write(
          outcome === 'created'
            ? `imported "${manifest.name}" (${report.blobs_added} new files in the store)\n`
            : `"${manifest.name}" was already imported with the same content: nothing changed\n`,
        );
      }
    } catch (e) {
      bar.stop();
      if (e instanceof StimulusSetError) printProblems(e.problems, flags, dirs.join(' '));
      else throw e;
    } finally {
      await store.close();
    }
  });

  withSetOptions(
    stimuli.command('validate <dir...>').description('check a stimulus set without storing anything; exit 1 if it has problems'),
  ).action(async (dirs: string[], flags: SetFlags) => {
    const bar = progressBar(flags);
    const result = await validateStimulusSet(dirs, {
      ...scanOptions(flags),
      ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
    }).finally(() => bar.stop());
    if (result.problems.length) return printProblems(result.problems, flags, dirs.join(' '));
    const report = result.report!;
    if (flags.json) process.stdout.write(JSON.stringify({ ok: true, report }, null, 2) + '\n');
    else process.stdout.write(`${formatReport(report)}\nno problems: the set can be imported\n`);
  });

  stimuli
    .command('list')
    .description('list the imported stimulus sets')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const store = await openStore(databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db));
      try {
        const sets = await store.listStimulusSets();
        if (flags.json) {
          process.stdout.write(JSON.stringify(sets, null, 2) + '\n');
          return;
        }
        if (sets.length === 0) {
          process.stdout.write('no stimulus sets yet: import one with `metamer stimuli import <dir> --name <set>`\n');
          return;
        }
        const rows = [
          ['name', 'modality', 'items', 'sources', 'categories', 'conditions', 'imported'],
          ...sets.map((s) => [
            s.name,
            s.modality,
            String(s.items),
            String(s.sources),
            String(s.categories),
            String(s.conditions),
            new Date(s.imported_at).toISOString().slice(0, 19).replace('T', ' '),
          ]),
        ];
        const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
        for (const r of rows)
          process.stdout.write(
            r
              .map((v, c) => v.padEnd(widths[c]!))
              .join('  ')
              .trimEnd() + '\n',
          );
      } finally {
        await store.close();
      }
    });

  stimuli
    .command('export-static <dir>')
    .description(
      "write the stimulus files and the headphone checks' volume sounds (under their keyed names) and an nginx server block, for serving stimuli from a static host or CDN",
    )
    .option('--set <name>', 'only the files of this stimulus set (default: every file the server serves)')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: { set?: string; progress?: boolean; json?: boolean }, cmd: Command) => {
      const paths = dataPaths(cmd.optsWithGlobals().db as string);
      const store = await openStore(databaseFor(paths.db));
      const bar = progressBar(flags);
      try {
        // The headphone checks' sounds are the server's, not a set's: written now (they are
        // otherwise made when a study first needs them) and always exported.
        const headphone = new HeadphoneStimuli(new BlobStore(paths.blobs), store);
        for (const test of HEADPHONE_TESTS) await headphone.ensure(test);
        const entries = [...(await store.listBlobs(flags.set)), ...(flags.set ? HEADPHONE_TESTS.flatMap((t) => headphoneBlobs(t)) : [])];
        const keys = new StimulusKeys(loadStimulusKey(paths.stimulusKeyFile));
        const result = await exportStatic(new BlobStore(paths.blobs), entries, dir, keys, bar.onProgress);
        bar.stop();
        if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
        else
          process.stdout.write(
            `wrote ${result.files} files (${(result.bytes / 1e6).toFixed(1)} MB, ${result.unchanged} already there) to ${result.dir}/stimuli/\n` +
              `nginx server block: ${result.dir}/nginx.conf\n` +
              `then run the server with: metamer serve --stimulus-base-url https://<static host>/stimuli/\n`,
          );
      } finally {
        bar.stop();
        await store.close();
      }
    });
}
