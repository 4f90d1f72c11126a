/**
 * `metamer study init|create|launch|pause|close|status|list|payments|preview-url|sweep`: everything
 * the dashboard does to a study, from the command line (docs/dashboard.md has the table), and a
 * first config for a set (`init`).
 */
import fs from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { ZodError } from 'zod';
import { configIssueLines, jsonSyntaxError } from '../../server/config-errors.ts';
import { StudyConfigInput, StudyId } from '../../server/study-config.ts';
import { databaseFor, openStore as openDatabaseStore } from '../../server/store/open-store.ts';
import type { Store } from '../../server/store/store.ts';
import type { StudyAction } from '../../server/studies.ts';
import { dataPaths } from '../paths.ts';
import { participantUrl, previewRunPath, publicBaseUrl } from '../../server/participant-url.ts';
import { userError } from '../../server/http-error.ts';
import { textTable } from '../text-table.ts';
// What only some subcommands need is imported inside their actions (cli/commands/index.ts).

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw userError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const syntax = jsonSyntaxError(text);
  if (syntax) throw userError(`${file}: not valid JSON: ${syntax}`);
  return JSON.parse(text);
}

/** A default study id from a set name, under the study-id rule. */
function idFromSetName(set: string): string {
  return (
    set
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 58) + '-study'
  );
}

function openStore(cmd: Command): Promise<Store> {
  return openDatabaseStore(databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db));
}

function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text + '\n');
}

export function register(program: Command): void {
  const study = program.command('study').description('create, launch, pause, close and inspect studies');

  study
    .command('create <config>')
    .description('create a study (as a draft) from a JSON config file')
    .option('--launch', 'launch it at once')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { launch?: boolean; json?: boolean }, cmd: Command) => {
      const { changeStudyStatus, createStudy } = await import('../../server/studies.ts');
      const store = await openStore(cmd);
      try {
        const input = readJsonFile(file);
        let row = await createStudy(store, input).catch((e: unknown) => {
          if (e instanceof ZodError) {
            throw userError(
              configIssueLines(e.issues, StudyConfigInput)
                .map((line) => `${file}: ${line}`)
                .join('\n'),
            );
          }
          throw e;
        });
        if (opts.launch) row = await changeStudyStatus(store, row.id, 'launch');
        print(!!opts.json, row, `study ${row.id} created (${row.status}); participant URL:\n  ${participantUrl(publicBaseUrl(), row.id)}`);
      } finally {
        await store.close();
      }
    });

  study
    .command('init <set>')
    .description("write a study config for an imported stimulus set, the paper's protocol scaled to the items it has")
    .option('--id <id>', 'the study id (lower-case letters, digits and "-"; default: <set>-study)')
    .option('--out <file>', 'where to write the config (default: <id>.json)')
    .option('--target <n>', 'completed participants wanted (rounded up to a multiple of the conditions; default about 20)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of participants, at least 1');
      return n;
    })
    .option('--explain', 'also write <id>.md: what each value means and why it was chosen')
    .option('--force', 'overwrite existing files')
    .action(async (set: string, opts: { id?: string; out?: string; target?: number; explain?: boolean; force?: boolean }, cmd: Command) => {
      const id = opts.id ?? idFromSetName(set);
      const idCheck = StudyId.safeParse(id);
      if (!idCheck.success) throw userError(`--id "${id}": ${idCheck.error.issues[0]!.message}`);
      const { studyTemplate } = await import('../../server/study-template.ts');
      const store = await openStore(cmd);
      try {
        const manifest = await store.getStimulusSet(set);
        if (!manifest) throw userError(`no stimulus set "${set}" (import it with: metamer stimuli import <dir> --name ${set})`);
        const { config, explanation } = studyTemplate(manifest, { id, target: opts.target });
        const out = opts.out ?? `${id}.json`;
        const notes = out.replace(/\.json$/i, '') + '.md';
        for (const f of opts.explain ? [out, notes] : [out]) {
          if (!opts.force && fs.existsSync(f)) throw userError(`${f} exists (use --force to overwrite)`);
        }
        fs.writeFileSync(out, JSON.stringify(config, null, 2) + '\n');
        const p = config.protocol!;
        process.stdout.write(
          `wrote ${out}: study ${id} of set ${set}, ${p.practice_trials} practice, ${p.screening_trials} screening ` +
            `(pass ${p.screening_min_correct}), ${p.catch_trials} catch trials, target ${config.target_completed}\n`,
        );
        if (opts.explain) {
          fs.writeFileSync(notes, explanation);
          process.stdout.write(`wrote ${notes}: what each value means\n`);
        }
      } finally {
        await store.close();
      }
    });

  for (const [action, verb] of [
    ['launch', 'open a study to participants'],
    ['pause', 'stop taking new participants for now (those in a session may finish)'],
    ['close', 'stop taking new participants for good (those in a session may finish)'],
  ] as [StudyAction, string][]) {
    study
      .command(`${action} <study>`)
      .description(verb)
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
        const { changeStudyStatus } = await import('../../server/studies.ts');
        const store = await openStore(cmd);
        try {
          const row = await changeStudyStatus(store, id, action);
          print(!!opts.json, { id: row.id, status: row.status }, `study ${row.id} is ${row.status}`);
        } finally {
          await store.close();
        }
      });
  }

  study
    .command('status <study>')
    .description('sessions by state, completed against the target, median duration, trials per condition')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { StudyProgressReader } = await import('../../server/admin-progress.ts');
      const { formatDuration } = await import('../../server/dashboard/format.ts');
      const store = await openStore(cmd);
      try {
        const row = await store.getStudy(id);
        if (!row) throw userError(`no study "${id}" (see metamer study list)`);
        const p = await new StudyProgressReader(store).progress(row, publicBaseUrl());
        const counts = p.sessions;
        const data = { ...p, stimulus_set: row.set_name };
        const away = p.turned_away;
        print(
          !!opts.json,
          data,
          [
            `study ${id}: ${row.status}, set ${row.set_name}`,
            `completed ${counts.completed} / ${row.config.target_completed}${p.target_reached ? ' (target reached: new participants are turned away)' : ''}; in progress ${counts.started}; screened out ${counts.screened_out}; abandoned ${counts.abandoned}; preview runs ${p.preview_sessions} (not counted)`,
            `turned away (device) ${away.total} before any session` +
              (away.came_back > 0 ? ` (${away.came_back} came back on another device)` : ''),
            `median duration ${formatDuration(p.median_duration_ms)}; idle sessions are abandoned after ${p.abandon_after_minutes} min`,
            `participant URL: ${p.participant_url}`,
            `completion code ${p.completion_code}; screen-out code ${p.screenout_code}`,
            'main trials per condition:',
            ...textTable(
              [
                ['condition', 'from completed sessions', 'from sessions in progress', 'planned at target'],
                ...p.conditions.map((c) => [c.label, ...[c.completed_trials, c.in_progress_trials, c.planned_at_target].map(String)]),
              ],
              ['left', 'right', 'right', 'right'],
              '  ',
            ),
          ].join('\n'),
        );
      } finally {
        await store.close();
      }
    });

  study
    .command('payments <study>')
    .description('Prolific IDs of completed sessions, to approve on Prolific (personal data: shown only here)')
    .option('--csv', 'print CSV')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { csv?: boolean; json?: boolean }, cmd: Command) => {
      const [{ paymentsCsv }, { paymentsWithFlags }, { describeFlags }] = await Promise.all([
        import('../../server/dashboard/payments-page.ts'),
        import('../../server/session-quality.ts'),
        import('../../analysis/quality-flags.ts'),
      ]);
      const store = await openStore(cmd);
      try {
        const row = await store.getStudy(id);
        if (!row) throw userError(`no study "${id}" (see metamer study list)`);
        const rows = await paymentsWithFlags(store, row);
        if (opts.csv) return void process.stdout.write(paymentsCsv(rows));
        print(
          !!opts.json,
          rows.map((r) => ({ ...r, completed_at: new Date(r.finished_at).toISOString() })),
          rows.length === 0
            ? `no completed submissions in study ${id} yet`
            : rows
                .map((r) => `${r.prolific_pid}\t${new Date(r.finished_at).toISOString()}\t${describeFlags(r.flags) || 'no flags'}`)
                .join('\n'),
        );
      } finally {
        await store.close();
      }
    });

  study
    .command('preview-url <study>')
    .description('start a preview run (you do the study; it is not counted) and print its URL')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const [
        { checkSharedParticipantKey, loadParticipantKey },
        { loadStimulusKey, StimulusKeys },
        { ParticipantSessions },
        { HeadphoneStimuli },
        { BlobStore },
      ] = await Promise.all([
        import('../../server/participant-id.ts'),
        import('../../server/stimulus-keys.ts'),
        import('../../server/participant-sessions.ts'),
        import('../../server/headphone-stimuli.ts'),
        import('../../stimuli/blob-store.ts'),
      ]);
      const paths = dataPaths(cmd.optsWithGlobals().db as string);
      const store = await openDatabaseStore(databaseFor(paths.db));
      try {
        if (!(await store.getStudy(id))) throw userError(`no study "${id}" (see metamer study list)`);
        const participantKey = loadParticipantKey(paths.pidKeyFile);
        // The same key as the servers', or this preview's pseudonym would be made with another.
        await checkSharedParticipantKey(store, participantKey);
        const sessions = new ParticipantSessions(store, {
          participantKey,
          stimulusBaseUrl: '/stimuli/',
          stimulusKeys: new StimulusKeys(loadStimulusKey(paths.stimulusKeyFile)),
          // An audio study's preview starts with the headphone check: its sounds must exist.
          headphoneStimuli: new HeadphoneStimuli(new BlobStore(paths.blobs), store),
        });
        const { session, prolificPid } = await sessions.startPreview(id);
        const url = publicBaseUrl() + previewRunPath(id, prolificPid);
        print(!!opts.json, { study: id, url, participant_id: session.participant_id }, url);
      } finally {
        await store.close();
      }
    });

  study
    .command('sweep [study]')
    .description("mark sessions abandoned that have had no trial for the study's abandon_after_minutes (all studies if none given)")
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const { sweepAbandoned, sweepStudy } = await import('../../server/abandonment.ts');
      const store = await openStore(cmd);
      try {
        let results: { study_id: string; abandoned: number }[];
        if (id) {
          const row = await store.getStudy(id);
          if (!row) throw userError(`no study "${id}" (see metamer study list)`);
          results = [{ study_id: id, abandoned: await sweepStudy(store, row) }];
        } else {
          results = await sweepAbandoned(store);
        }
        const total = results.reduce((n, r) => n + r.abandoned, 0);
        print(
          !!opts.json,
          results,
          total === 0
            ? 'no idle sessions'
            : results
                .filter((r) => r.abandoned > 0)
                .map((r) => `${r.study_id}: ${r.abandoned} session(s) marked abandoned`)
                .join('\n'),
        );
      } finally {
        await store.close();
      }
    });

  study
    .command('list')
    .description('all studies')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const store = await openStore(cmd);
      try {
        const rows = await store.listStudies();
        const data = await Promise.all(
          rows.map(async (r) => ({
            id: r.id,
            status: r.status,
            stimulus_set: r.set_name,
            modality: r.config.modality,
            target_completed: r.config.target_completed,
            completed: (await store.countSessions(r.id)).completed,
          })),
        );
        const text =
          data.length === 0
            ? 'no studies (create one with: metamer study create <config.json>)'
            : data
                .map((d) => `${d.id}\t${d.status}\t${d.modality}\t${d.stimulus_set}\t${d.completed}/${d.target_completed} completed`)
                .join('\n');
        print(!!opts.json, data, text);
      } finally {
        await store.close();
      }
    });
}
