/**
 * `npm run bench:analysis`: the full analysis of 1,000,000 trials (2,500 participants × 400 main
 * trials over 40 conditions: natural + 3 models × 13 layers) in a SQLite file, with B = 10,000
 * bootstrap replicates, against the `sqlite3` command-line shell's own GROUP BY over the same
 * view measured in the same run. Prints the ratio (goal ≤ 3×). Like for like: the headline is
 * `metamer analyze` as a command (process start-up included) against `sqlite3` as a command
 * (start-up included), in alternating rounds; the in-process figure is shown beside it.
 *
 * Timed: median of 3 runs after one warm-up (the file is in the page cache for both sides), as wall
 * time and as CPU time (user + system; children's via bash `times`), since the machine is shared.
 *   baseline  /usr/bin/sqlite3 <db> "SELECT participant_id, model, layer, AVG(correct) FROM trial_rows
 *             WHERE study_id = 'bench' AND phase = 'main' GROUP BY participant_id, model, layer" > /dev/null
 *   analyze   loadStudyFromDb + analyzeCounts (exclusions, table, B = 10,000, statistics) + Markdown,
 *             in this process (what `metamer analyze bench` does after start-up)
 *   CLI       `node bin/metamer.js analyze bench --db <db> > /dev/null`, start-up included (the headline)
 *   ANOVA     the same with --compare all (model × layer ANOVA, 10,000 permutations per effect), by
 *             the paper's permutation scheme (the default) and by the restricted scheme — the
 *             permutation kernels of the implementation before issue 12 (analysis/rm-anova.ts),
 *             unchanged — in alternating rounds (BENCH_ANOVA_ROUNDS, default 3), medians compared:
 *             the paper's shuffles must not make the analysis more than 2× slower (issue 12).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeCounts } from '../analysis/analyze.ts';
import { median } from '../analysis/descriptive.ts';
import { loadStudyFromDb } from '../analysis/load-study-db.ts';
import { openStudyData } from '../server/store/open-store.ts';
import { Random } from '../analysis/random.ts';
import { resultToMarkdown } from '../analysis/report-format.ts';
import { openDatabase } from '../server/store/database.ts';
import { StudyConfig } from '../server/study-config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SQLITE3 = process.env.SQLITE3 ?? '/usr/bin/sqlite3';
const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 2500);
const TRIALS = 400;
const MODELS = ['alexnet', 'resnet50', 'vgg19'];
const LAYERS = Array.from({ length: 13 }, (_, i) => `layer${i + 1}`);
const STUDY = 'bench';

function buildDb(file: string): void {
  const categories = Array.from({ length: 16 }, (_, i) => `cat${i}`);
  const conditions = [
    { model: '', layer: 'natural', index: 0 },
    ...MODELS.flatMap((m) => LAYERS.map((l, i) => ({ model: m, layer: l, index: i + 1 }))),
  ];
  const manifest = {
    format: 'metamer-stimulus-set/1',
    name: 'bench-set',
    modality: 'image',
    categories,
    models: MODELS.map((model) => ({ model, layers: LAYERS })),
    masks: [],
    items: conditions.map((c, i) => ({
      id: `item${i}`,
      file: `item${i}.png`,
      category: categories[i % 16],
      source_id: `src${i}`,
      condition: c.model === '' ? 'natural' : { model: c.model, layer: c.layer, layer_index: c.index },
      role: 'main',
      attributes: {},
    })),
  };
  const config = StudyConfig.parse({
    id: STUDY,
    stimulus_set: 'bench-set',
    modality: 'image',
    target_completed: PARTICIPANTS,
    prolific: { completion_code: 'C1', screenout_code: 'S1' },
  });
  const db = openDatabase(file);
  const rng = new Random(1);
  db.prepare('INSERT INTO stimulus_sets (name, modality, digest, manifest, imported_at) VALUES (?, ?, ?, ?, ?)').run(
    'bench-set',
    'image',
    '0'.repeat(64),
    JSON.stringify(manifest),
    0,
  );
  db.prepare('INSERT INTO studies (id, set_name, config, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    STUDY,
    'bench-set',
    JSON.stringify(config),
    'live',
    0,
    0,
  );
  const session = db.prepare(
    `INSERT INTO sessions (id, study_id, prolific_pid, participant_id, slot, state, n_trials, started_at, last_activity_at)
     VALUES (?, ?, ?, ?, ?, 'completed', ?, ?, ?)`,
  );
  const trial = db.prepare(
    `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
                         response, correct, rt_ms, data, received_at)
     VALUES (?, ?, 'main', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let p = 0; p < PARTICIPANTS; p++) {
      const sid = `session-${p.toString(36).padStart(6, '0')}`;
      session.run(sid, STUDY, `PID${p}`, `participant-${p.toString(16).padStart(8, '0')}`, p, TRIALS, p, p);
      for (let t = 0; t < TRIALS; t++) {
        const c = conditions[(t + p) % conditions.length]!;
        const category = categories[t % 16]!;
        const pCorrect = c.index === 0 ? 0.9 : Math.max(0.07, 0.95 - c.index * 0.07);
        const correct = rng.nextFloat() < pCorrect ? 1 : 0;
        const response = correct ? category : categories[(t + 1) % 16]!;
        const rt = 400 + rng.nextBelow(1200);
        trial.run(
          sid,
          t,
          `s${t}-${c.model}-${c.layer}`,
          `s${t}`,
          category,
          c.model,
          c.layer,
          c.index,
          response,
          correct,
          rt,
          `{"response":"${response}","rt":${rt}}`,
          1_700_000_000_000 + p * 1000 + t,
        );
      }
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

interface Timing {
  wall: number;
  /** CPU seconds (user + system): robust when other processes share the machine. */
  cpu: number;
}

/** Median wall and CPU time of repeated runs. */
function med(xs: Timing[]): Timing {
  return { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) };
}

async function inProcess(f: () => unknown): Promise<Timing> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await f();
  const used = process.cpuUsage(c);
  return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: (used.user + used.system) / 1e6 };
}

/** Runs a command under bash, whose `times` builtin reports the child's CPU time. */
function child(cmd: string, args: string[]): Timing {
  const t = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', '"$@" > /dev/null || exit 1; times', 'bench', cmd, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n')[1] ?? '';
  const cpu = [...line.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wall, cpu };
}

const BASELINE_SQL = `SELECT participant_id, model, layer, AVG(correct) FROM trial_rows WHERE study_id = '${STUDY}' AND phase = 'main' GROUP BY participant_id, model, layer`;

function baseline(db: string): Timing {
  return child(SQLITE3, [db, BASELINE_SQL]);
}

async function analyzeInProcess(db: string): Promise<string> {
  const source = await openStudyData(db);
  const s = await loadStudyFromDb(source, STUDY).finally(() => source.close());
  const r = analyzeCounts(s.counts, { exclusions: s.exclusions, choices: s.choices, bootstrap: 10_000, permutations: 10_000, seed: 1 });
  if (r.table.length !== 40 || r.table[0]!.n_trials !== (PARTICIPANTS * TRIALS) / 40) throw new Error('unexpected table');
  return resultToMarkdown(r);
}

function cli(db: string, extra: string[] = []): Timing {
  return child(process.execPath, [path.join(ROOT, 'bin/metamer.js'), 'analyze', STUDY, '--db', db, '--no-progress', ...extra]);
}

// BENCH_DB=<file> keeps the generated database (built on first use) for repeated runs.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-analysis-'));
try {
  const db = process.env.BENCH_DB ?? path.join(dir, 'bench.db');
  if (!fs.existsSync(db)) {
    process.stderr.write(`building ${PARTICIPANTS} × ${TRIALS} trials … `);
    const built = (await inProcess(() => buildDb(db))).wall;
    process.stderr.write(`${built.toFixed(1)} s (${(fs.statSync(db).size / 1e6).toFixed(0)} MB)\n`);
  }

  baseline(db);
  await analyzeInProcess(db);
  const base: Timing[] = [];
  const ours: Timing[] = [];
  const load: Timing[] = [];
  const commands: Timing[] = [];
  for (let i = 0; i < 3; i++) {
    base.push(baseline(db));
    commands.push(cli(db));
    ours.push(await inProcess(() => analyzeInProcess(db)));
    load.push(
      await inProcess(async () => {
        const source = await openStudyData(db);
        await loadStudyFromDb(source, STUDY).finally(() => source.close());
      }),
    );
  }
  const cliTime = med(commands);
  // Alternating rounds, so that a change in the machine's load hits both schemes alike.
  const paper: Timing[] = [];
  const restricted: Timing[] = [];
  const rounds = process.env.BENCH_SKIP_ANOVA ? 0 : Number(process.env.BENCH_ANOVA_ROUNDS ?? 3);
  for (let i = 0; i < rounds; i++) {
    paper.push(cli(db, ['--compare', 'all']));
    restricted.push(cli(db, ['--compare', 'all', '--permutation-scheme', 'restricted']));
  }
  const b = med(base);
  const o = med(ours);
  const rows: [string, Timing | null][] = [
    ['sqlite3 GROUP BY (baseline)', b],
    ['  load only (loadStudyFromDb)', med(load)],
    ['metamer analyze (CLI, start-up included; the headline)', cliTime],
    ['  analyze in process, after start-up (B = 10,000)', o],
    ['analyze --compare all, paper scheme (10,000 permutations)', rounds ? med(paper) : null],
    ['analyze --compare all, restricted scheme (pre-change kernels)', rounds ? med(restricted) : null],
  ];
  const cpus = os.cpus();
  process.stdout.write(
    `\nanalysis benchmark: ${PARTICIPANTS * TRIALS} trials, ${PARTICIPANTS} participants, 40 conditions; ` +
      `node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model ?? '?'}), load average ${os.loadavg()[0]!.toFixed(1)}\n`,
  );
  process.stdout.write(`${''.padEnd(64)}   wall s  ratio    CPU s  ratio\n`);
  for (const [label, t] of rows) {
    if (!t) continue;
    process.stdout.write(
      `${label.padEnd(64)} ${t.wall.toFixed(3).padStart(8)} ${(t.wall / b.wall).toFixed(2).padStart(5)}× ${t.cpu.toFixed(3).padStart(8)} ${(t.cpu / b.cpu).toFixed(2).padStart(5)}×\n`,
    );
  }
  // Like for like: both are whole commands, process start-up included, in alternating rounds.
  process.stdout.write(
    `\nratio metamer analyze / sqlite3 (both whole commands): ${(cliTime.wall / b.wall).toFixed(2)}× wall, ` +
      `${(cliTime.cpu / b.cpu).toFixed(2)}× CPU (goal ≤ 3×)\n`,
  );
  if (rounds) {
    const pm = med(paper);
    const rm = med(restricted);
    process.stdout.write(
      `ratio --compare all, paper / restricted (pre-change) scheme, median of ${rounds} alternating rounds: ` +
        `${(pm.wall / rm.wall).toFixed(2)}× wall, ${(pm.cpu / rm.cpu).toFixed(2)}× CPU (goal ≤ 2×)\n`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
