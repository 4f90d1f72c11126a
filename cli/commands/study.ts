/**
 * `metamer study create|launch|pause|close|status|list`.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { changeStudyStatus, createStudy, type StudyAction } from '../../server/studies.ts';
import { dataPaths } from '../paths.ts';
import { participantUrl, publicBaseUrl } from '../../server/participant-url.ts';

function userError(message: string): Error {
  return Object.assign(new Error(message), { expose: true as const });
}

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

function openStore(cmd: Command): SqliteStore {
  return new SqliteStore(dataPaths(cmd.optsWithGlobals().db as string).db);
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
      const store = openStore(cmd);
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
        store.close();
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
        const store = openStore(cmd);
        try {
          const row = await changeStudyStatus(store, id, action);
          print(!!opts.json, { id: row.id, status: row.status }, `study ${row.id} is ${row.status}`);
        } finally {
          store.close();
        }
      });
  }

  study
    .command('status <study>')
    .description('sessions started, completed, screened out and abandoned')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const store = openStore(cmd);
      try {
        const row = await store.getStudy(id);
        if (!row) throw userError(`no study "${id}" (see metamer study list)`);
        const counts = await store.countSessions(id);
        const url = participantUrl(publicBaseUrl(), id);
        const data = { id, status: row.status, stimulus_set: row.set_name, target_completed: row.config.target_completed, sessions: counts, participant_url: url };
        print(
          !!opts.json,
          data,
          [
            `study ${id}: ${row.status}, set ${row.set_name}`,
            `completed ${counts.completed} / ${row.config.target_completed}; in progress ${counts.started}; screened out ${counts.screened_out}; abandoned ${counts.abandoned}`,
            `participant URL: ${url}`,
          ].join('\n'),
        );
      } finally {
        store.close();
      }
    });

  study
    .command('list')
    .description('all studies')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const store = openStore(cmd);
      try {
        const rows = await store.listStudies();
        const data = await Promise.all(rows.map(async (r) => ({ id: r.id, status: r.status, stimulus_set: r.set_name, modality: r.config.modality, target_completed: r.config.target_completed, completed: (await store.countSessions(r.id)).completed })));
        const text = data.length === 0 ? 'no studies (create one with: metamer study create <config.json>)' : data.map((d) => `${d.id}\t${d.status}\t${d.modality}\t${d.stimulus_set}\t${d.completed}/${d.target_completed} completed`).join('\n');
        print(!!opts.json, data, text);
      } finally {
        store.close();
      }
    });
}
