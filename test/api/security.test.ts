/**
 * What a participant (or anyone) can and cannot get from the server: limits that hold behind a
 * proxy and cannot be dodged without one, a CSP with no inline code, no answers in anything the
 * participant's browser receives, and no raw Prolific ID where analysis reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidOf, postJson, startTestServer, type TestServer } from '../support/test-server.ts';

async function startMany(server: TestServer, n: number, headers: (i: number) => Record<string, string>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${server.url}/api/studies/fixture-study/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers(i) },
      body: JSON.stringify({ prolific_pid: pidOf(`limit-${Date.now()}-${i}`) }),
    });
    statuses.push(r.status);
  }
  return statuses;
}

describe('session-start rate limit', () => {
  let server: TestServer;
  afterAll(async () => {
    await server?.dispose();
    delete process.env.METAMER_TRUST_PROXY;
    delete process.env.METAMER_SESSION_STARTS_PER_MINUTE;
  });

  it('limits starts per address, and X-Forwarded-For cannot dodge it when no proxy is trusted', async () => {
    process.env.METAMER_SESSION_STARTS_PER_MINUTE = '5';
    server = await startTestServer();
    const statuses = await startMany(server, 8, (i) => ({ 'X-Forwarded-For': `203.0.113.${i}` }));
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf('one-more') });
    expect(r.body.code).toBe('rate_limited');
    await server.dispose();
  });

  it('behind a trusted proxy, counts each client address on its own', async () => {
    process.env.METAMER_SESSION_STARTS_PER_MINUTE = '5';
    process.env.METAMER_TRUST_PROXY = 'loopback';
    server = await startTestServer();
    // Eight participants behind the proxy, each from its own address: none is limited.
    expect(await startMany(server, 8, (i) => ({ 'X-Forwarded-For': `203.0.113.${i}` }))).toEqual(Array(8).fill(200));
    // One address starting over and over is.
    const same = await startMany(server, 7, () => ({ 'X-Forwarded-For': '198.51.100.7' }));
    expect(same.filter((s) => s === 429)).toHaveLength(2);
  });
});

describe('what the participant can read', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the page has a CSP without inline script and loads only same-origin script', async () => {
    const res = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf('csp-check')}`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    // No inline script: only script files and the study's brief as an inert JSON data block.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)(?![^>]*\stype="application\/json")[^>]*>/);
    expect(html).toMatch(/<script type="application\/json" id="metamer-brief">/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('no page, script or URL the participant receives holds a test trial answer or stimulus name', async () => {
    const view = (await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf('reader-1') })).body;
    const plan = (await server.store.getSession(view.session))!.plan.trials;
    const page = await (await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf('reader-1')}`)).text();
    const script = await (await fetch(server.url + page.match(/src="([^"]+\.js)"/)![1])).text();
    const readable = [JSON.stringify(view), page, script];
    for (const t of plan) {
      for (const text of readable) {
        // Stimulus ids and source ids carry model, layer and category names.
        expect(text).not.toContain(t.stimulus_id);
        expect(text).not.toContain(`"${t.source_id}"`);
        // Nor the stored file's content hash (URLs are keyed: stimulus-keys.ts).
        expect(text).not.toContain(t.file.slice(0, 64));
      }
    }
    // No answer at all before a response is stored (practice feedback comes with the acknowledgement).
    for (const t of view.trials) {
      expect(t.stimulus).toMatch(/^\/stimuli\/[0-9a-f]{64}\.(png|wav)$/);
      expect(t).not.toHaveProperty('feedback');
      expect(['practice', 'test']).toContain(t.phase);
    }
    // The script is built once per server, the same for every study: it carries no study's data.
    // (Single words like "bear" do occur in it: jsPsych bundles an English word list.)
    expect(script).not.toContain(JSON.stringify(view.choices).slice(1, -1));
    for (const t of plan) expect(script).not.toContain(t.file.slice(0, 64));
  });

  it('the pseudonymous id analysis reads is a keyed hash, not a hash anyone could recompute', async () => {
    const pid = pidOf('hash-check-pid');
    await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pid });
    const db = await server.openDb();
    const row = (await db.get<{ participant_id: string }>(
      'SELECT participant_id FROM trial_rows WHERE 1 = 0 UNION SELECT participant_id FROM sessions WHERE prolific_pid = ?',
      pid,
    ))!;
    const viewColumns = await db.columns('SELECT * FROM trial_rows LIMIT 0');
    await db.close();
    expect(viewColumns).not.toContain('prolific_pid');
    const { createHash } = await import('node:crypto');
    for (const candidate of [
      createHash('sha256').update(pid).digest('hex'),
      createHash('sha256').update(`fixture-study\u0000${pid}`).digest('hex'),
    ]) {
      expect(candidate).not.toContain(row.participant_id.slice(1));
    }
    expect(row.participant_id).toMatch(/^p[0-9a-f]{20}$/);
  });
});
