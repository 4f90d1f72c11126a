/**
 * `npm run bench:dashboard`: what an open dashboard costs the server during a launch. A study the
 * paper's size (400 sources, natural + 2 models × 7 layers, 16 catch, 16 practice, 12 screening:
 * 444 trials per session) with 500 participants — 400 completed, 100 half-way — in a real SQLite
 * file, built through the Store (real plans from buildSessionPlan).
 *
 * Timed, median of 7 rounds after one warm-up, the three alternating within each round, in this
 * process (better-sqlite3 is synchronous: this is time the event loop is blocked):
 *   baseline   the straightforward queries a refresh would make: every session with its stored
 *              trial count, and main trials per condition and state over the whole trials table
 *   dashboard  one refresh of the study page's live data as the server does it
 *              (listSessions + StudyProgressReader.progress: completed counts from the plan,
 *              in-progress rows only)
 *   analysis   one recomputation of the recognizability table (loadStudyFromDb + analyzeCounts,
 *              B = 10,000), and the share of server time it takes at the live page's refresh
 *              policy (liveStaleMs)
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StudyProgressReader } from '../server/admin-progress.ts';
import { liveStaleMs, StudyAnalyses } from '../server/dashboard/study-analysis.ts';
import { StimulusKeys } from '../server/stimulus-keys.ts';
import { ParticipantSessions } from '../server/participant-sessions.ts';
import { SqliteStore } from '../server/store/sqlite-store.ts';
import { changeStudyStatus, createStudy } from '../server/studies.ts';
import type { ManifestInput } from '../stimuli/manifest.ts';
import { loadAverage, median } from './support.ts';

const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 500);
const IN_PROGRESS = Math.round(PARTICIPANTS / 5);
const RUNS = 7;

function fakeSha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function manifest(): ManifestInput {
  const categories = Array.from({ length: 16 }, (_, i) => `cat${i}`);
  const models = [
    { model: 'resnet50', layers: ['conv1', 'layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'final'] },
    { model: 'alexnet', layers: ['relu0', 'relu1', 'relu2', 'relu3', 'relu4', 'fc0', 'final'] },
  ];
  const media = { kind: 'image' as const, format: 'png' as const, width: 224, height: 224, channels: 3 };
  const items: ManifestInput['items'] = [];
  for (let s = 0; s < 400; s++) {
    const category = categories[s % 16]!;
    const source = `s${s}`;
    items.push({
      id: `${source}-nat`,
      file: `n/${source}.png`,
      category,
      source_id: source,
      condition: 'natural',
      sha256: fakeSha(`${source}n`),
      media,
    });
    for (const m of models) {
      for (const [li, layer] of m.layers.entries()) {
        items.push({
          id: `${source}-${m.model}-${layer}`,
          file: `${m.model}/${layer}/${source}.png`,
          category,
          source_id: source,
          condition: { model: m.model, layer, layer_index: li + 1 },
          sha256: fakeSha(`${source}${m.model}${layer}`),
          media,
        });
      }
    }
  }
  for (let p = 0; p < 32; p++) {
    items.push({
      id: `p${p}`,
      file: `p/${p}.png`,
      category: categories[p % 16]!,
      source_id: `p${p}`,
      condition: 'natural',
      role: 'practice',
      sha256: fakeSha(`p${p}`),
      media,
    });
  }
  return { name: 'bench-set', modality: 'image', categories, models, masks: [{ file: 'm.png', sha256: fakeSha('mask') }], items };
}

/** Runs the steps once each (warm-up), then RUNS rounds of all of them in turn; the median of each step, in ms. */
async function alternating(steps: (() => Promise<unknown> | unknown)[]): Promise<number[]> {
  for (const step of steps) await step();
  const times: number[][] = steps.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, step] of steps.entries()) {
      const t = performance.now();
      await step();
      times[k]!.push(performance.now() - t);
    }
  }
  return times.map(median);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metamer-bench-dashboard-'));
const file = path.join(dir, 'bench.db');
const store = new SqliteStore(file);
try {
  const t0 = performance.now();
  await store.saveStimulusSet(manifest() as never);
  await createStudy(store, {
    id: 'bench',
    stimulus_set: 'bench-set',
    modality: 'image',
    target_completed: PARTICIPANTS,
    prolific: { completion_code: 'DONE', screenout_code: 'OUT' },
  });
  await changeStudyStatus(store, 'bench', 'launch');
  const sessions = new ParticipantSessions(store, {
    participantKey: randomBytes(32),
    stimulusBaseUrl: '/stimuli/',
    stimulusKeys: new StimulusKeys(randomBytes(32)),
  });
  const save = store.db.transaction((rows: Parameters<SqliteStore['saveTrial']>[0][]) => {
    // saveTrial runs synchronously (better-sqlite3); inside this transaction each is a savepoint.
    for (const r of rows) void store.saveTrial(r);
  });
  for (let i = 0; i < PARTICIPANTS; i++) {
    const view = await sessions.start('bench', { prolific_pid: String(i).padStart(24, '0') });
    const s = (await store.getSession(view.session))!;
    const upTo = i < PARTICIPANTS - IN_PROGRESS ? s.plan.trials.length : Math.floor(s.plan.trials.length / 2);
    const now = Date.now();
    save(
      s.plan.trials.slice(0, upTo).map((t) => ({
        session_id: s.id,
        trial_index: t.index,
        phase: t.phase,
        stimulus_id: t.stimulus_id,
        source_id: t.source_id,
        category: t.category,
        model: t.model,
        layer: t.layer,
        layer_index: t.layer_index,
        response: t.category,
        correct: (t.index % 3 === 0 ? 0 : 1) as 0 | 1,
        rt_ms: 800,
        data: `{"trial_index":${t.index}}`,
        received_at: now,
      })),
    );
    await store.setScreening(s.id, true, now);
    if (upTo === s.plan.trials.length) await store.completeSession(s.id, now + 1);
  }
  const rows = (store.db.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n;
  process.stdout.write(
    `built ${PARTICIPANTS} sessions (${IN_PROGRESS} in progress), ${rows} trial rows in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );

  const study = (await store.getStudy('bench'))!;
  const reader = new StudyProgressReader(store);
  const baselineList = store.db.prepare(
    'SELECT s.*, (SELECT count(*) FROM trials t WHERE t.session_id = s.id) AS answered FROM sessions s WHERE s.study_id = ?',
  );
  const baselineCounts = store.db.prepare(
    `SELECT t.model, t.layer, s.state, count(*) FROM trials t JOIN sessions s ON s.id = t.session_id
      WHERE s.study_id = ? AND s.preview = 0 AND t.phase = 'main' GROUP BY t.model, t.layer, s.state`,
  );
  let version = 0;
  const analyses = new StudyAnalyses(store.studyData);
  const [baseline, dashboard, analysis] = (await alternating([
    () => {
      baselineList.all('bench');
      baselineCounts.all('bench');
    },
    async () => reader.progress(study, 'http://x', await store.listSessions('bench')),
    () => analyses.get('bench', `v${version++}`),
  ])) as [number, number, number];
  const interval = liveStaleMs(analysis);

  const p = await reader.progress(study, 'http://x');
  const check = p.conditions.reduce((n, c) => n + c.completed_trials, 0);
  process.stdout.write(
    [
      `baseline refresh (full scans)          ${baseline.toFixed(1)} ms`,
      `dashboard refresh                      ${dashboard.toFixed(1)} ms   ratio dashboard / baseline = ${(dashboard / baseline).toFixed(3)}`,
      `recognizability recomputation          ${analysis.toFixed(0)} ms   live page recomputes at most every ${(interval / 1000).toFixed(1)} s → ≤ ${((100 * analysis) / interval).toFixed(1)}% of server time`,
      `(check: ${check} main trials of completed sessions = ${PARTICIPANTS - IN_PROGRESS} × 400)`,
      'baseline: the same counts the page shows (sessions with their stored trials; main trials per condition and state), by the two',
      'straightforward queries over the whole trials table; it does NOT use the plans of completed sessions or scan only in-progress rows.',
      '',
      '| date | baseline refresh | dashboard refresh | **ratio dashboard / baseline** | analysis | live recompute interval | analysis share of server time |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      `| ${new Date().toISOString().slice(0, 10)} (${PARTICIPANTS} participants, load ${loadAverage()}) | ${baseline.toFixed(0)} ms | ${dashboard.toFixed(0)} ms | **${(dashboard / baseline).toFixed(3)}** | ${analysis.toFixed(0)} ms | ${(interval / 1000).toFixed(1)} s | ≤ ${((100 * analysis) / interval).toFixed(1)}% |`,
    ].join('\n') + '\n',
  );
} finally {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
