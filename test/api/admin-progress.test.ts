import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plannedAtTarget, StudyProgressReader, studyPlanCounts } from '../../server/admin-progress.ts';
import { StudyAnalyses, liveStaleMs } from '../../server/dashboard/study-analysis.ts';
import { buildSessionPlan } from '../../server/session-plan.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { completeParticipant, answerTrials, startParticipant } from './admin-participants.ts';

let server: TestServer;

beforeAll(async () => {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  // Two metamers failed the model-side checks: their sources are shown as natural instead.
  server = await startTestServer({
    set: {
      missing: [
        { source: 's01', model: 'alexnet', layer: 'relu2' },
        { source: 's05', model: 'alexnet', layer: 'final' },
      ],
    },
    study: { target_completed: 7 },
  });
});
afterAll(async () => {
  await server?.dispose();
});

describe('per-condition plan counts', () => {
  it('the periodic sum over C slots equals building every slot’s plan up to the target', async () => {
    const study = (await server.store.getStudy('fixture-study'))!;
    const manifest = (await server.store.getStimulusSet('fixture'))!;
    const plan = studyPlanCounts(study, manifest);
    for (const target of [1, 3, 4, 7, 13]) {
      const brute = new Map<string, number>();
      for (let slot = 0; slot < target; slot++) {
        for (const t of buildSessionPlan(study.config, manifest, slot).trials) {
          if (t.phase !== 'main') continue;
          const k = `${t.model}\u0000${t.layer}`;
          brute.set(k, (brute.get(k) ?? 0) + 1);
        }
      }
      expect(plannedAtTarget(plan, target)).toEqual(brute);
    }
    // The missing metamers moved two trials per 4 slots from relu2/final to natural.
    const at4 = plannedAtTarget(plan, 4);
    expect(at4.get('\u0000natural')).toBe(8 + 2);
    expect(at4.get('alexnet\u0000relu2')).toBe(8 - 1);
    expect(at4.get('alexnet\u0000final')).toBe(8 - 1);
  });

  it('completed counts taken from the plan equal the stored rows; in-progress counts are the stored rows', async () => {
    for (let i = 0; i < 5; i++) await completeParticipant(server, `5f1c0000000000000000c00${i}`);
    const busy = await startParticipant(server, '5f1c0000000000000000b001');
    await answerTrials(server, busy.view, { to: busy.view.trials.length - 2 });
    const study = (await server.store.getStudy('fixture-study'))!;
    const p = await new StudyProgressReader(server.store).progress(study, 'http://x');
    const db = await server.openDb();
    const stored = await db.all<{ state: string; layer: string; n: number }>(
      `SELECT session_state AS state, layer, count(*) AS n FROM trial_rows WHERE study_id = 'fixture-study' AND preview = 0 AND phase = 'main' GROUP BY session_state, layer`,
    );
    await db.close();
    const n = (state: string, layer: string) => stored.find((r) => r.state === state && r.layer === layer)?.n ?? 0;
    for (const c of p.conditions) {
      expect(c.completed_trials, c.label).toBe(n('completed', c.layer));
      expect(c.in_progress_trials, c.label).toBe(n('started', c.layer));
    }
    expect(p.conditions.reduce((s, c) => s + c.in_progress_trials, 0)).toBeGreaterThan(0);
    expect(p.conditions.reduce((s, c) => s + c.completed_trials, 0)).toBe(5 * 8);
  });
});

describe('the live analysis cache', () => {
  it('recomputes for new data, but on the live page not more often than its cost allows', async () => {
    let now = 1_000_000;
    const a = new StudyAnalyses(server.store.studyData, { now: () => now });
    const first = await a.get('fixture-study', 'v1');
    expect(first.result.exclusions.participants_included).toBe(5);
    expect(await a.get('fixture-study', 'v1')).toBe(first);
    // New data, asked for by the live page within the window: the recent result stands.
    now += liveStaleMs(first.costMs) - 1;
    expect(await a.get('fixture-study', 'v2', true)).toBe(first);
    // A download wants the current data.
    const exact = await a.get('fixture-study', 'v2');
    expect(exact).not.toBe(first);
    expect(exact.version).toBe('v2');
    now += liveStaleMs(exact.costMs) + 1;
    expect((await a.get('fixture-study', 'v3', true)).version).toBe('v3');
    // Two page loads at once wait for one computation.
    const [x, y] = await Promise.all([a.get('fixture-study', 'v4'), a.get('fixture-study', 'v4')]);
    expect(x).toBe(y);
    expect(liveStaleMs(1)).toBe(2_000);
    expect(liveStaleMs(500)).toBe(10_000);
  });
});
