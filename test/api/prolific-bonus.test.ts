/**
 * Bonuses through the ledger, against the local stand-in of Prolific's API: a `metamer prolific
 * bonus` process is killed for real (SIGKILL) at the dangerous moments — after the set-up, and
 * while the non-idempotent pay call is out — and run again. Every bonus is paid exactly once,
 * counted from the stand-in's own record of pay calls and of the bonuses on each submission.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProlificStandIn } from '../support/prolific-stand-in.ts';
import type { TestServer } from '../support/test-server.ts';
import {
  type Arrival,
  arrive,
  completeHere,
  metamer,
  participantIdOf,
  prolificEnv,
  spawnMetamer,
  useLinkedStudy,
} from './prolific-helpers.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

let server: TestServer;
let standIn: ProlificStandIn;
let study: string;
const people: { a: Arrival; pid: string }[] = [];

useLinkedStudy(async (linked) => {
  ({ server, standIn, study } = linked);
  for (let i = 0; i < 3; i++) {
    const a = await arrive(server, standIn, study);
    await completeHere(server, standIn, a);
    people.push({ a, pid: await participantIdOf(server, a) });
  }
});
afterEach(() => {
  standIn.hang = null;
  standIn.paymentsVisible = true;
});

async function csv(name: string, rows: [number, string][]): Promise<string> {
  const file = path.join(server.dir, `${name}.csv`);
  await fs.writeFile(file, ['participant_id,amount', ...rows.map(([i, amount]) => `${people[i]!.pid},${amount}`)].join('\n') + '\n');
  return file;
}

const bonus = (file: string, extra: string[] = [], env: Record<string, string> = {}) =>
  metamer(server, ['prolific', 'bonus', 'fixture-study', '--csv', file, '--json', ...extra], { ...prolificEnv(standIn), ...env });

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `metamer prolific bonus` until the stand-in sees `cond`, then kills it with SIGKILL. */
async function killWhen(file: string, what: string, cond: () => boolean): Promise<void> {
  const child = spawnMetamer(server, ['prolific', 'bonus', 'fixture-study', '--csv', file], prolificEnv(standIn));
  const exited = new Promise<string | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await until(what, cond);
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

const cents = (i: number) => standIn.paidCents(people[i]!.a.submission.id);
const runsOf = async (batch: string) => (await server.store.bonusRuns('fixture-study')).filter((r) => r.batch === batch);

describe('metamer prolific bonus', () => {
  it('checks the whole file first: a problem names the line, and nothing is set up', async () => {
    const bad = path.join(server.dir, 'bad.csv');
    await fs.writeFile(bad, `participant_id,amount\n${people[0]!.pid},1.00\np${'0'.repeat(20)},2.00\n`);
    const r = await bonus(bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line 3: participant p${'0'.repeat(20)} has no session with a submission on Prolific`);
    expect(r.stderr).toContain('nothing was paid');
    const dry = await bonus(await csv('dry', [[0, '1.00']]), ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).runs).toEqual([{ run: 0, participants: 1, total: '1.00', outcome: 'would be set up and paid' }]);
    expect(standIn.setUps.size).toBe(0);
    expect(await server.store.bonusRuns('fixture-study')).toEqual([]);
  });

  it('a run killed right after the set-up pays once when run again, and a third run pays nothing', async () => {
    const file = await csv('round-1', [
      [0, '1.50'],
      [1, '0.75'],
    ]);
    const crashed = await bonus(file, [], { METAMER_PROLIFIC_TEST_CRASH: 'after-bonus-setup' });
    expect(crashed.code).toBeNull();
    expect(crashed.signal).toBe('SIGKILL');
    const [run] = await runsOf('round-1');
    expect(run!.state).toBe('set_up');
    expect(standIn.setUps.has(run!.setup_id!)).toBe(true);
    expect(standIn.payCalls).toEqual([]);

    const again = await bonus(file);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).runs).toEqual([{ run: run!.id, participants: 2, total: '2.25', outcome: 'paid' }]);
    expect(standIn.payCalls).toEqual([run!.setup_id]);
    expect([cents(0), cents(1)]).toEqual([150, 75]);

    const third = await bonus(file);
    expect(JSON.parse(third.stdout)).toMatchObject({ already_in_ledger: 2, runs: [] });
    expect(standIn.payCalls).toHaveLength(1);
    expect((await runsOf('round-1')).map((r) => r.state)).toEqual(['paid']);
  });

  it('a run killed while the pay call is out is found paid on Prolific (once payments show) and is not paid again', async () => {
    const file = await csv('round-2', [
      [0, '1.50'],
      [2, '2.00'],
    ]);
    standIn.hang = 'pay-after-paying';
    standIn.paymentsVisible = false;
    const calls = standIn.payCalls.length;
    await killWhen(file, 'the pay call', () => standIn.payCalls.length > calls);
    standIn.hang = null;
    const [run] = await runsOf('round-2');
    expect(run!.state).toBe('paying');

    // Prolific pays asynchronously: nothing shows yet, so nothing is sent and the run stays open.
    const early = await bonus(file);
    expect(early.code).toBe(1);
    expect(JSON.parse(early.stdout).runs[0]).toMatchObject({ run: run!.id, outcome: 'unknown' });
    expect(standIn.payCalls.filter((id) => id === run!.setup_id)).toHaveLength(1);

    standIn.settlePayments();
    const later = await bonus(file);
    expect(later.code).toBe(0);
    expect(JSON.parse(later.stdout).runs).toEqual([
      { run: run!.id, participants: 2, total: '3.50', outcome: 'confirmed paid on Prolific' },
    ]);
    expect(standIn.payCalls.filter((id) => id === run!.setup_id)).toHaveLength(1);
    // Participant 0 has had 1.50 twice (rounds 1 and 2), participant 2 once 2.00.
    expect([cents(0), cents(2)]).toEqual([300, 200]);
  });

  it('a pay call that never reached Prolific stays unknown until a person decides, then pays once', async () => {
    const file = await csv('round-3', [[1, '0.50']]);
    standIn.hang = 'pay-before-paying';
    const asked = () => standIn.requests.some((q) => q.path.endsWith('/pay/') && !standIn.payCalls.includes(q.path.split('/')[4]!));
    await killWhen(file, 'the pay request', asked);
    standIn.hang = null;
    const [run] = await runsOf('round-3');
    expect(run!.state).toBe('paying');

    const unsure = await bonus(file);
    expect(unsure.code).toBe(1);
    expect(JSON.parse(unsure.stdout).runs[0].detail).toContain(`--resolve ${run!.id}=unpaid`);
    expect(standIn.payCalls).not.toContain(run!.setup_id);

    const wrong = await bonus(file, ['--resolve', `${run!.id + 100}=unpaid`]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('is not waiting for a decision');

    const resolved = await bonus(file, ['--resolve', `${run!.id}=unpaid`]);
    expect(resolved.code).toBe(0);
    expect(JSON.parse(resolved.stdout).runs).toEqual([{ run: run!.id, participants: 1, total: '0.50', outcome: 'paid' }]);
    expect(standIn.payCalls.filter((id) => id === run!.setup_id)).toHaveLength(1);
    expect(cents(1)).toBe(75 + 50);
  });

  it('a set-up whose answer never came is never paid: the next run sets up again and pays that one', async () => {
    const file = await csv('round-4', [[2, '1.00']]);
    standIn.hang = 'setup-after-creating';
    const before = standIn.setUps.size;
    await killWhen(file, 'the set-up', () => standIn.setUps.size > before);
    standIn.hang = null;
    const orphan = [...standIn.setUps.keys()].at(-1)!;
    expect((await runsOf('round-4'))[0]!.state).toBe('intent');

    const r = await bonus(file);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).runs[0].outcome).toBe('paid');
    expect(standIn.payCalls).not.toContain(orphan);
    expect(cents(2)).toBe(200 + 100);
  });

  it('refuses a different amount for someone already in the batch', async () => {
    const r = await bonus(await csv('round-1', [[0, '9.00']]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`line 2: participant ${people[0]!.pid} already has a bonus of 1.50 in batch "round-1"`);
    expect(cents(0)).toBe(300);
  });
});
