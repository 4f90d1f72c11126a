/**
 * A metamer that failed the model-side checks is absent from its set; the participant sees the
 * natural stimulus in its place (docs/design.md §5). The stored row is the natural trial it was and names
 * the condition it stood in for, in the database and in the trials export.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { loadTrialsExport } from '../../analysis/trials-export.ts';
import { postJson, startTestServer, type TestServer, backdateSession } from '../support/test-server.ts';

let server: TestServer;
// Every relu2 metamer is missing, so each participant's relu2 sources all fall back.
const SOURCES = ['s01', 's02', 's03', 's04', 's05', 's06', 's07', 's08'];

beforeAll(async () => {
  server = await startTestServer({ set: { missing: SOURCES.map((source) => ({ source, model: 'alexnet', layer: 'relu2' })) } });
});
afterAll(async () => {
  await server?.dispose();
});

it('stores a natural stand-in as a natural trial that names the condition it replaced, and exports it', async () => {
  const started = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: '5f0c0ffee00000000000fb01' });
  expect(started.status).toBe(200);
  const view = started.body as SessionView;
  await backdateSession(server, view.session);
  const plan = (await server.store.getSession(view.session))!.plan;
  const standIns = plan.trials.filter((t) => t.fallback_for !== undefined);
  expect(standIns.length).toBeGreaterThan(0);

  for (const t of plan.trials) {
    const r = await postJson(`${server.url}/api/sessions/${view.session}/trials`, {
      trial_index: t.index,
      response: t.category,
      rt_ms: 700,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    if (t.index === view.screening_last_index) {
      expect((await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {})).body).toMatchObject({ passed: true });
    }
  }
  expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(200);

  const db = await server.openDb();
  const stored = await db.all(
    'SELECT trial_index, model, layer, layer_index, fallback_for FROM trials WHERE session_id = ? AND fallback_for IS NOT NULL ORDER BY trial_index',
    view.session,
  );
  const others = (await db.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM trials WHERE session_id = ? AND fallback_for IS NULL',
    view.session,
  ))!.n;
  await db.close();
  expect(stored).toEqual(
    standIns.map((t) => ({ trial_index: t.index, model: '', layer: 'natural', layer_index: 0, fallback_for: 'alexnet/relu2' })),
  );
  expect(others).toBe(plan.trials.length - standIns.length);

  const exported = await loadTrialsExport(server.store.studyData, 'fixture-study');
  expect(exported.columns.map((c) => c.name)).toContain('fallback_for');
  const exportedStandIns = exported.rows.filter((r) => r.fallback_for !== null);
  expect(exportedStandIns.map((r) => [r.trial_index, r.layer, r.fallback_for])).toEqual(
    standIns.map((t) => [t.index, 'natural', 'alexnet/relu2']),
  );
});
