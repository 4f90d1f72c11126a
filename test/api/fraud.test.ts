/**
 * The fraud scripts of issue 11, run against a real server: what a script posing as participants
 * can learn and skip (docs/integrity.md).
 *
 * 1. Harvest: 12 throw-away sessions (made-up Prolific IDs in Prolific's format), everything they
 *    are given (session views, stimulus URLs, response headers and bytes, practice feedback, the
 *    gate's verdict), plus a public copy of the set hashed as the server stores it. Then a fresh
 *    session, every trial posted at full speed with whatever the harvest knows. No screening,
 *    catch or main answer is known in advance, and no completion code comes back.
 * 2. Pacing itself correctly but answering at random: screened out at the screening gate (the
 *    protocol's 12 trials with ≥ 7 correct among 16 categories: P(pass) = 2.2e-6,
 *    `node --import tsx bench/screening-chance.ts`), so the completion code never comes back.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { mulberry32 } from '../../stimuli/random.ts';
import { walkFiles } from '../../stimuli/walk.ts';
import { PAPER_IMAGE_CATEGORIES } from '../fixtures/stimulus-sets.ts';
import { COMPLETION_CODE, pidOf, postJson, SCREENOUT_CODE, startTestServer, type TestServer } from '../support/test-server.ts';

// The paper's 16 image categories and its image protocol; short display times keep the test quick.
const CATEGORIES = PAPER_IMAGE_CATEGORIES;
const PROTOCOL = { practice_trials: 16, slow_practice_trials: 4, screening_trials: 12, screening_min_correct: 7, catch_trials: 16 };
const TIMING = { blank_ms: 50, fixation_ms: 50, stimulus_ms: 50, practice_stimulus_ms: 60, mask_ms: 50 };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    set: { categories: CATEGORIES, practicePerCategory: 2, sourcesPerCategory: 1 },
    study: { protocol: PROTOCOL, timing: TIMING, target_completed: 100 },
  });
}, 120_000);
afterAll(async () => {
  await server?.dispose();
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const api = (p: string) => `${server.url}/api${p}`;

/** What the script knows: each key (URL, stimulus name, ETag, content hash, size) → the answer learnt with it. */
type Knowledge = Map<string, string>;

/** Every key a script can derive from a stimulus URL: the URL, its file name, and what a GET returns. */
async function keysOf(url: string): Promise<string[]> {
  const res = await fetch(server.url + url);
  const body = new Uint8Array(await res.arrayBuffer());
  return [url, path.basename(url), path.basename(url).slice(0, 64), res.headers.get('etag') ?? '', sha256(body), `${body.length} bytes`];
}

/** Posts a trial, and when the server says "too early", waits as long as it says and posts again. */
async function postPaced(session: string, body: object): Promise<{ status: number; body: any }> {
  for (;;) {
    const r = await postJson(api(`/sessions/${session}/trials`), body);
    if (r.status !== 425 || r.body.code !== 'too_early') return r;
    await new Promise((done) => setTimeout(done, r.body.retry_after_ms + 5));
  }
}

describe('the harvest-then-rush script', () => {
  it('learns no screening, catch or main answer from 12 sessions and a public copy, and gets no completion code at full speed', async () => {
    const knowledge: Knowledge = new Map();
    const seen: string[] = [];
    // The public copy: every file of the set, hashed as the server stores it, with its category.
    for (const file of (await walkFiles(path.join(server.dir, 'set'))).files) {
      const category = CATEGORIES.find((c) => file.split('/').includes(c));
      if (!category) continue;
      const bytes = await fs.readFile(path.join(server.dir, 'set', file));
      knowledge.set(sha256(bytes), category);
      knowledge.set(`${sha256(bytes)}.png`, category);
    }
    const publicHashes = new Set(knowledge.keys());

    // Harvest: 12 sessions, in parallel, each answering its practice (paced, as the server demands) to get the feedback.
    const rng = mulberry32(11);
    await Promise.all(
      Array.from({ length: 12 }, async (_, h) => {
        const start = await postJson(api('/studies/fixture-study/sessions'), { prolific_pid: pidOf(`harvest-${h}`) });
        expect(start.status).toBe(200);
        const view = start.body as SessionView;
        seen.push(JSON.stringify(view));
        for (const t of view.trials) {
          const keys = await keysOf(t.stimulus);
          if (t.phase !== 'practice') {
            // What a stimulus's headers or bytes give away: nothing a lookup in the public copy finds by name.
            expect(publicHashes.has(keys[1]!)).toBe(false);
            expect(publicHashes.has(keys[2]!)).toBe(false);
            expect(keys[3]).not.toContain(keys[4]!);
            continue;
          }
          const r = await postPaced(view.session, { trial_index: t.index, response: CATEGORIES[Math.floor(rng() * 16)]!, rt_ms: 1 });
          expect(r.status).toBe(200);
          const answer = r.body.feedback.answer as string;
          for (const k of keys) knowledge.set(k, answer);
        }
      }),
    );

    // The fresh session: what does the harvest know of its trials before answering?
    const fresh = await postJson(api('/studies/fixture-study/sessions'), { prolific_pid: pidOf('fresh-target') });
    const view = fresh.body as SessionView;
    const plan = (await server.store.getSession(view.session))!.plan.trials;
    let knownTest = 0;
    let knownPractice = 0;
    for (const t of view.trials) {
      // From what the session gives away without downloading: the URL and its name.
      const learnt = [t.stimulus, path.basename(t.stimulus), path.basename(t.stimulus).slice(0, 64)]
        .map((k) => knowledge.get(k))
        .find(Boolean);
      if (learnt === undefined) continue;
      if (t.phase === 'practice') knownPractice++;
      else knownTest++;
    }
    expect(knownTest).toBe(0);
    // Practice answers do recur (that is what practice is for), and they are all that recurs.
    expect(knownPractice).toBeGreaterThan(0);
    // The phase says practice or test: catch trials cannot be told from main trials.
    expect(new Set(view.trials.map((t) => t.phase))).toEqual(new Set(['practice', 'test']));
    expect(plan.some((t) => t.phase === 'catch')).toBe(true);

    // Every trial at full speed, with the harvest's answers where it has one.
    const replies = [];
    for (const t of view.trials) {
      const guess = knowledge.get(t.stimulus) ?? CATEGORIES[Math.floor(rng() * 16)]!;
      replies.push(await postJson(api(`/sessions/${view.session}/trials`), { trial_index: t.index, response: guess, rt_ms: 1 }));
    }
    replies.push(await postJson(api(`/sessions/${view.session}/gates/screening`), {}));
    replies.push(await postJson(api(`/sessions/${view.session}/complete`), {}));
    const text = JSON.stringify(replies.map((r) => r.body));
    expect(text).not.toContain(COMPLETION_CODE);
    expect(replies.slice(0, view.trials.length).every((r) => r.status === 425 && r.body.code === 'too_early')).toBe(true);
    expect(replies.at(-1)!.status).toBe(409);
    expect(await server.store.answeredIndices(view.session)).toEqual([]);
    // Recorded for the quality flags: one violation per refused trial.
    const summary = (await server.store.listSessions('fixture-study')).find((s) => s.id === view.session)!;
    expect(summary.pacing_violations).toBe(view.trials.length);
    // Nothing a session was given names a content hash of the public copy.
    for (const s of seen) for (const h of publicHashes) expect(s).not.toContain(h.slice(0, 64));
  }, 240_000);
});

describe('the paced random script', () => {
  it('is screened out at the gate: the screen-out code, never the completion code', async () => {
    const start = await postJson(api('/studies/fixture-study/sessions'), { prolific_pid: pidOf('paced-random') });
    const startedAt = Date.now();
    const view = start.body as SessionView;
    const rng = mulberry32(20261203);
    const bodies: unknown[] = [];
    // It keeps the protocol's pace by its own clock: each trial after its fixation, image and mask.
    let due = startedAt;
    for (const t of view.trials) {
      if (t.index > view.screening_last_index!) break;
      due += view.timing.fixation_ms + (t.stimulus_ms ?? view.timing.stimulus_ms) + view.timing.mask_ms;
      while (Date.now() < due) await new Promise((done) => setTimeout(done, due - Date.now()));
      const r = await postJson(api(`/sessions/${view.session}/trials`), {
        trial_index: t.index,
        response: CATEGORIES[Math.floor(rng() * 16)]!,
        rt_ms: 600,
      });
      expect(r.status).toBe(200);
      bodies.push(r.body);
    }
    const gate = await postJson(api(`/sessions/${view.session}/gates/screening`), {});
    expect(gate.body).toEqual({ passed: false, redirect_url: `https://app.prolific.com/submissions/complete?cc=${SCREENOUT_CODE}` });
    const after = await postJson(api(`/sessions/${view.session}/trials`), {
      trial_index: view.screening_last_index! + 1,
      response: 'bear',
      rt_ms: 600,
    });
    expect(after.status).toBe(410);
    const done = await postJson(api(`/sessions/${view.session}/complete`), {});
    expect(done.status).toBe(410);
    expect(JSON.stringify([...bodies, gate.body, after.body, done.body])).not.toContain(COMPLETION_CODE);
    expect((await server.store.getSession(view.session))!.state).toBe('screened_out');
    // It kept the pace, so the server recorded no pacing violation: the screening stopped it.
    expect((await server.store.listSessions('fixture-study')).find((s) => s.id === view.session)!.pacing_violations).toBe(0);
  }, 120_000);
});
