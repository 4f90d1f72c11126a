/**
 * README's "Your first study, step by step", followed literally: the test copies the fenced blocks
 * out of README.md and runs them from an empty folder inside the clone (as README says to work),
 * with the real `npx metamer`; `npx metamer serve` runs in the background (README: a second
 * terminal) on a free port instead of 8080; the pilot address README gives is opened in Chromium
 * and the study done by clicking; then README's `npx metamer analyze` must print the table.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, newParticipantContext } from '../support/browser.ts';
import { driveParticipant } from '../support/participant-driver.ts';
import type { PlannedTrial } from '../../server/session-plan.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Block {
  lang: string;
  text: string;
}

/** The fenced blocks of one `## ` section of README.md, in order. */
function readmeBlocks(heading: string): Block[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

function run(script: string, cwd: string): { stdout: string; cwd: string } {
  const marker = path.join(fs.mkdtempSync(path.join(ROOT, 'test-output', 'cwd-')), 'pwd');
  const r = spawnSync('bash', ['-e', '-c', `${script}\npwd > '${marker}'`], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`README block failed (exit ${r.status}):\n${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const next = fs.readFileSync(marker, 'utf8').trim();
  fs.rmSync(path.dirname(marker), { recursive: true, force: true });
  return { stdout: r.stdout, cwd: next };
}

/** Starts README's serve command on a free port; resolves with the address it prints. */
function serve(command: string, cwd: string): Promise<{ proc: ChildProcess; origin: string }> {
  // A process group of its own: npx runs the server as a child, and both must stop at the end.
  const proc = spawn('bash', ['-c', `exec ${command}`], {
    cwd,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ proc, origin: m[1]! });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
  });
}

describe("README's first study", () => {
  let server: ChildProcess | undefined;
  let workdir = '';
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    }
    if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
  });

  it('runs from an empty folder to `metamer analyze` output, every command copied from README', async () => {
    const blocks = readmeBlocks('Your first study, step by step');
    const shell = blocks.filter((b) => b.lang === 'sh');
    const urls = blocks.filter((b) => b.lang === 'text').map((b) => b.text.trim());
    expect(shell.length).toBeGreaterThanOrEqual(3);
    expect(urls).toHaveLength(1);

    fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
    workdir = fs.mkdtempSync(path.join(ROOT, 'test-output', 'readme-'));
    expect(fs.readdirSync(workdir)).toEqual([]);
    let cwd = workdir;

    let analyzed = '';
    for (const block of shell) {
      const lines = block.text.split('\n').filter((l) => l.trim() !== '');
      const serveLine = lines.find((l) => /^npx metamer serve\b/.test(l.trim()));
      if (serveLine) {
        // README: "this keeps running; use a second terminal for the rest".
        const started = await serve(serveLine.trim(), cwd);
        server = started.proc;
        const pilotUrl = urls[0]!.replace('http://localhost:8080', started.origin);
        const pid = new URL(pilotUrl).searchParams.get('PROLIFIC_PID')!;
        const db = path.join(cwd, 'data', 'metamer.db');
        const plan = async (): Promise<PlannedTrial[]> => {
          const conn = new Database(db, { readonly: true });
          try {
            const row = conn
              .prepare('SELECT p.plan FROM sessions s JOIN session_plans p ON p.session_id = s.id WHERE s.prolific_pid = ?')
              .get(pid) as { plan: string };
            return (JSON.parse(row.plan) as { trials: PlannedTrial[] }).trials;
          } finally {
            conn.close();
          }
        };
        const chromium = await launchChromium();
        try {
          const page = await (await newParticipantContext(chromium.browser)).newPage();
          await page.goto(pilotUrl);
          const result = await driveParticipant(page, { plan, timeoutMs: 240_000 });
          expect(result.finalUrl).toMatch(/^https:\/\/app\.prolific\.com\/submissions\/complete\?cc=[A-Z0-9]+$/);
        } finally {
          await chromium.close();
        }
        continue;
      }
      const r = run(block.text, cwd);
      cwd = r.cwd;
      if (/npx metamer analyze\b/.test(block.text)) analyzed = r.stdout;
    }

    // README promised these along the way.
    expect(fs.existsSync(path.join(cwd, 'first-set', 'categories.txt'))).toBe(true);
    expect(fs.existsSync(path.join(cwd, 'first-study.json'))).toBe(true);
    expect(fs.readFileSync(path.join(cwd, 'first-study.md'), 'utf8')).toContain('| `practice_trials` | 4 |');
    // The analysis: one row per condition (natural and 2 models × 2 layers), the pilot included.
    expect(analyzed).toContain('1 of 1 participants included.');
    const rows = analyzed
      .split('\n')
      .filter((l) => l.startsWith('| first-study |'))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(
      rows.map((r) => `${r[2]}/${r[3]}`),
      analyzed,
    ).toEqual(['/natural', 'robust_cnn/conv2_relu', 'robust_cnn/final', 'standard_cnn/conv2_relu', 'standard_cnn/final']);
    // n_participants is the pilot; chance is 1 in the example set's 4 categories.
    for (const r of rows) expect([r[5], r[11]]).toEqual(['1', '0.25']);
  }, 600_000);
});
