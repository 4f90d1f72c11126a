/**
 * `metamer study create|launch|pause|close|status|list|payments|preview-url|sweep`: everything the
 * dashboard does to a study, from the command line (docs/dashboard.md has the table).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { databaseFor, openStore as openDatabaseStore } from '../../server/store/open-store.ts';
import type { Store } from '../../server/store/store.ts';
import type { StudyAction } from '../../server/studies.ts';
import { dataPaths } from '../paths.ts';
import { participantUrl, publicBaseUrl } from '../../server/participant-url.ts';
import { userError } from '../../server/http-error.ts';
// What only some subcommands need is imported inside their actions (cli/commands/index.ts).

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw userError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw userError(`${file}: not valid JSON (${(e as Error).message})`);
  }
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
          if (e instanceof Error && 'issues' in e) {
            const issues = (e as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues;
            throw userError(issues.map((i) => `${file}: ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n'));
          }
          throw e;
        });
        if (opts.launch) row = await changeStudyStatus(store, row.id, 'launch');
        print(!!opts.json, row, `study ${row.id} created (${row.status}); participant URL:\n  ${participantUrl(publicBaseUrl(), row.id)}`);
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
        const width = Math.max(9, ...p.conditions.map((c) => c.label.length));
        print(
          !!opts.json,
          data,
          [
            `study ${id}: ${row.status}, set ${row.set_name}`,
            `completed ${counts.completed} / ${row.config.target_completed}${p.target_reached ? ' (target reached: new participants are turned away)' : ''}; in progress ${counts.started}; screened out ${counts.screened_out}; abandoned ${counts.abandoned}; preview runs ${p.preview_sessions} (not counted)`,
            `median duration ${formatDuration(p.median_duration_ms)}; idle sessions are abandoned after ${p.abandon_after_minutes} min`,
            `participant URL: ${p.participant_url}`,
            `completion code ${p.completion_code}; screen-out code ${p.screenout_code}`,
            `main trials per condition: ${'condition'.padEnd(width)}  completed  in progress  planned at target`,
            ...p.conditions.map((c) => `  ${c.label.padEnd(width + 'main trials per condition: '.length - 2)}  ${String(c.completed_trials).padStart(9)}  ${String(c.in_progress_trials).padStart(11)}  ${String(c.planned_at_target).padStart(17)}`),
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
      const [{ checkSharedParticipantKey, loadParticipantKey }, { loadStimulusKey, StimulusKeys }, { ParticipantSessions }, { HeadphoneStimuli }, { BlobStore }] = await Promise.all([
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
        const url = `${publicBaseUrl()}/run/${encodeURIComponent(id)}?PROLIFIC_PID=${encodeURIComponent(prolificPid)}&STUDY_ID=preview&SESSION_ID=preview`;
        print(!!opts.json, { study: id, url, participant_id: session.participant_id }, url);
      } finally {
        await store.close();
      }
    });

  study
    .command('sweep [study]')
    .description('mark sessions abandoned that have had no trial for the study\'s abandon_after_minutes (all studies if none given)')
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
        print(!!opts.json, results, total === 0 ? 'no idle sessions' : results.filter((r) => r.abandoned > 0).map((r) => `${r.study_id}: ${r.abandoned} session(s) marked abandoned`).join('\n'));
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
        const data = await Promise.all(rows.map(async (r) => ({ id: r.id, status: r.status, stimulus_set: r.set_name, modality: r.config.modality, target_completed: r.config.target_completed, completed: (await store.countSessions(r.id)).completed })));
        const text = data.length === 0 ? 'no studies (create one with: metamer study create <config.json>)' : data.map((d) => `${d.id}\t${d.status}\t${d.modality}\t${d.stimulus_set}\t${d.completed}/${d.target_completed} completed`).join('\n');
        print(!!opts.json, data, text);
      } finally {
        await store.close();
      }
    });
}
