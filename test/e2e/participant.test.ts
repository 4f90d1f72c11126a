import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { alwaysRight, driveParticipant } from '../support/participant-driver.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, startTestServer, type TestServer, pidOf } from '../support/test-server.ts';

let chromium: TestBrowser;
beforeAll(async () => {
  chromium = await launchChromium({ audio: true });
});
afterAll(async () => {
  await chromium?.close();
});

function runUrl(server: TestServer, pid: string) {
  return `${server.url}/run/fixture-study?PROLIFIC_PID=${pid}&STUDY_ID=prolific-study&SESSION_ID=prolific-session`;
}

async function sessionOf(server: TestServer, pid: string) {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    const row = db.prepare('SELECT id FROM sessions WHERE prolific_pid = ?').get(pid) as { id: string } | undefined;
    if (!row) throw new Error(`no session for ${pid}`);
    return row.id;
  } finally {
    db.close();
  }
}

/** Trials the server refused as too early (server/pacing.ts): never any for an honest participant. */
function pacingViolations(server: TestServer, session: string): number {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT pacing_violations AS n FROM sessions WHERE id = ?').get(session) as { n: number }).n;
  } finally {
    db.close();
  }
}

function storedTrials(server: TestServer, session: string) {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return db
      .prepare('SELECT trial_index, phase, correct, response, data FROM trials WHERE session_id = ? ORDER BY trial_index')
      .all(session) as {
      trial_index: number;
      phase: string;
      correct: number;
      response: string;
      data: string;
    }[];
  } finally {
    db.close();
  }
}

const planFor = (server: TestServer, pid: string) => async () => (await server.store.getSession(await sessionOf(server, pid)))!.plan.trials;

describe('image study in Chromium', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ modality: 'image' });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a participant completes it by clicking and lands on Prolific with the completion code; one row per planned trial', async () => {
    const pid = pidOf('e2eimage000000000000001');
    const context = await newParticipantContext(chromium.browser);
    // At every frame, note which of fixation, image and mask is actually visible (computed style),
    // per trial: what the participant saw, independent of what the trial code says it showed.
    await context.addInitScript(() => {
      const seen: Record<string, Record<string, number>> = {};
      const tick = () => {
        const index = document.getElementById('jspsych-target')?.dataset.trialIndex;
        if (index !== undefined) {
          for (const [name, sel] of [
            ['fixation', '.metamer-fixation'],
            ['image', '.metamer-stage > canvas'],
            ['mask', '.metamer-mask'],
          ] as const) {
            const el = document.querySelector(sel);
            if (el && getComputedStyle(el).visibility === 'visible') {
              const t = (seen[index] ??= {});
              t[name] = (t[name] ?? 0) + 1;
            }
          }
          localStorage.setItem('frames-seen', JSON.stringify(seen));
        }
        // Practice feedback, as the participant reads it (it comes with the server's acknowledgement).
        const feedback = document.querySelector('.feedback.correct, .feedback.wrong')?.textContent;
        if (feedback) localStorage.setItem('feedback-seen', feedback);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const page = await context.newPage();
    await page.goto(runUrl(server, pid));
    const result = await driveParticipant(page, { plan: planFor(server, pid) });
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const session = await sessionOf(server, pid);
    const plan = (await server.store.getSession(session))!.plan.trials;
    const rows = storedTrials(server, session);
    expect(rows.map((r) => r.trial_index)).toEqual(plan.map((t) => t.index));
    expect(rows.every((r) => r.correct === 1)).toBe(true);
    expect((await server.store.getSession(session))!.state).toBe('completed');
    expect(pacingViolations(server, session)).toBe(0);
    // Every image trial carries its measured, frame-locked display times.
    for (const r of rows) {
      const timings = JSON.parse(r.data).timings;
      const shown = timings.stimulus_offset - timings.stimulus_onset;
      const target = plan[r.trial_index]!.stimulus_ms ?? 100;
      expect(Math.abs(shown - target)).toBeLessThanOrEqual(timings.frame_ms);
      expect(JSON.parse(r.data).rt_ms).toBeGreaterThan(0);
    }
    // Every trial showed the fixation cross, the image and the noise mask, each for about its
    // 100 ms (6 frames at 60 Hz; the image 150 ms on the slow practice trial).
    const check = await context.newPage();
    await check.goto(`${server.url}/healthz`);
    const seen = JSON.parse((await check.evaluate(() => localStorage.getItem('frames-seen'))) ?? '{}') as Record<
      string,
      Record<string, number>
    >;
    expect(await check.evaluate(() => localStorage.getItem('feedback-seen'))).toBe('Correct!');
    for (const t of plan) {
      const frames = seen[String(t.index)] ?? {};
      for (const part of ['fixation', 'image', 'mask']) expect(frames[part] ?? 0, `trial ${t.index} ${part}`).toBeGreaterThanOrEqual(4);
    }
    await context.close();
  });

  it('a participant who reloads mid-study continues at the next trial and finishes with no missing or duplicate rows', async () => {
    const pid = pidOf('e2eimage000000000000002');
    const context = await newParticipantContext(chromium.browser);
    const page = await context.newPage();
    await page.goto(runUrl(server, pid));
    const first = await driveParticipant(page, { plan: planFor(server, pid), stopBefore: 6 });
    expect(first.stoppedAt).toBe(6);
    expect(first.answered).toEqual([0, 1, 2, 3, 4, 5]);
    await page.reload();
    await page.locator('text=Welcome back').waitFor();
    const second = await driveParticipant(page, { plan: planFor(server, pid) });
    expect(second.answered[0]).toBe(6);
    expect(second.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const session = await sessionOf(server, pid);
    const plan = (await server.store.getSession(session))!.plan.trials;
    expect([...first.answered, ...second.answered]).toEqual(plan.map((t) => t.index));
    expect(storedTrials(server, session).map((r) => r.trial_index)).toEqual(plan.map((t) => t.index));
    expect(pacingViolations(server, session)).toBe(0);
    await context.close();
  });

  it('the same Prolific ID from another browser with another SESSION_ID gets no session token, and the owner goes on', async () => {
    const pid = pidOf('e2e-hijack');
    const owner = await newParticipantContext(chromium.browser);
    const page = await owner.newPage();
    await page.goto(runUrl(server, pid));
    await driveParticipant(page, { plan: planFor(server, pid), stopBefore: 3 });
    const session = await sessionOf(server, pid);

    const other = await newParticipantContext(chromium.browser);
    const seen: string[] = [];
    other.on('response', async (r) => seen.push(`${r.url()} ${await r.text().catch(() => '')}`));
    const taker = await other.newPage();
    // The link as the taker would make it: the victim's ID, a SESSION_ID of their own.
    const res = await taker.goto(
      `${server.url}/run/fixture-study?PROLIFIC_PID=${pid}&STUDY_ID=prolific-study&SESSION_ID=another-submission`,
    );
    expect(res!.status()).toBe(409);
    await taker.locator('text=already been used to start this study in another submission').waitFor();
    // And without any SESSION_ID: the page asks the server, which refuses (no resume key in this browser).
    await taker.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    await taker.locator('text=The study cannot start').waitFor();
    await taker.locator('text=another submission').waitFor();
    expect(seen.join('\n')).not.toContain(session);
    expect(await taker.evaluate(() => JSON.stringify(localStorage))).not.toContain(session);
    await other.close();

    // The owner's browser finishes, with the code.
    const rest = await driveParticipant(page, { plan: planFor(server, pid) });
    expect(rest.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    expect(pacingViolations(server, session)).toBe(0);
    await owner.close();
  });

  it('a participant who fails the screening is sent back with the screen-out code', async () => {
    const pid = pidOf('e2eimage000000000000003');
    const context = await newParticipantContext(chromium.browser);
    const page = await context.newPage();
    await page.goto(runUrl(server, pid));
    const result = await driveParticipant(page, {
      plan: planFor(server, pid),
      answer: (t, choices) => (t.phase === 'screening' ? choices.find((c) => c !== t.category)! : t.category),
    });
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${SCREENOUT_CODE}`);
    const session = await sessionOf(server, pid);
    expect((await server.store.getSession(session))!.state).toBe('screened_out');
    const rows = storedTrials(server, session);
    expect(rows.every((r) => r.phase === 'practice' || r.phase === 'screening')).toBe(true);
    expect(rows.filter((r) => r.phase === 'screening').every((r) => r.correct === 0)).toBe(true);
    await context.close();
  });
});

describe('audio study in Chromium', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ modality: 'audio' });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a participant completes it by clicking and lands on Prolific with the completion code', async () => {
    const pid = pidOf('e2eaudio000000000000001');
    const context = await newParticipantContext(chromium.browser);
    const page = await context.newPage();
    await page.goto(runUrl(server, pid));
    const result = await driveParticipant(page, { plan: planFor(server, pid), answer: alwaysRight });
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const session = await sessionOf(server, pid);
    const plan = (await server.store.getSession(session))!.plan.trials;
    const rows = storedTrials(server, session);
    expect(rows.map((r) => r.trial_index)).toEqual(plan.map((t) => t.index));
    expect(rows.every((r) => r.correct === 1)).toBe(true);
    await context.close();
  });
});
