/**
 * Plays a participant in a real browser: clicks through consent, instructions, trials, feedback,
 * breaks and the gate, answering each trial through a policy that sees the server's plan (the test
 * participant "recognises" what it is asked to). Stops at the Prolific redirect, or when asked.
 * Audio studies: plays the headphone check's volume sound, answers the check's trials (buttons
 * 1, 2, 3) and typed-response trials (types part of the label, picks it from the suggestions with
 * the arrow keys, or types it out when it is not suggested).
 */
import type { Page, Request } from 'playwright-core';
import type { PlannedTrial } from '../../server/session-plan.ts';

export type AnswerPolicy = (trial: PlannedTrial, choices: string[]) => string;

export const alwaysRight: AnswerPolicy = (t) => t.category;

export interface DriveOptions {
  /** The server-side plan of the page's session, looked up once the session exists. */
  plan: () => Promise<PlannedTrial[]>;
  answer?: AnswerPolicy;
  /** Stop (return) before answering a trial with this index. */
  stopBefore?: number;
  timeoutMs?: number;
  /**
   * How long each answer button is held down (ms): the response is the click, at the release, so
   * this is a floor on the response times the page records (a person takes hundreds of ms).
   */
  pressMs?: number;
}

export interface DriveResult {
  answered: number[];
  finalUrl: string;
  stoppedAt?: number;
  /** Typed-response trials: how each answer was entered. */
  typed?: { index: number; picked: boolean }[];
}

/** Answers a typed-response trial whose text box is open; returns whether a suggestion was picked. */
async function typeAnswer(page: Page, label: string): Promise<boolean> {
  const input = page.locator('#jspsych-typed-response-input');
  await input.click();
  const prefix = label.slice(0, Math.max(1, Math.ceil(label.length / 2)));
  await page.keyboard.type(prefix);
  const suggested = await page.locator('#jspsych-typed-response-list li:not([hidden])').allTextContents();
  const at = suggested.indexOf(label);
  if (at >= 0) {
    for (let i = 0; i <= at; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
  } else {
    await page.keyboard.type(label.slice(prefix.length));
  }
  await page.locator('#jspsych-typed-response-continue:enabled').click();
  return at >= 0;
}

/** Where Prolific's completion redirect goes (unreachable from here: watched, not loaded). */
const PROLIFIC = 'https://app.prolific.com/';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function visible(page: Page, selector: string): Promise<boolean> {
  return page
    .locator(selector)
    .first()
    .isVisible()
    .catch(() => false);
}

export async function driveParticipant(page: Page, opts: DriveOptions): Promise<DriveResult> {
  let prolific: string | null = page.url().startsWith(PROLIFIC) ? page.url() : null;
  const onRequest = (r: Request) => {
    if (r.isNavigationRequest() && r.url().startsWith(PROLIFIC)) prolific = r.url();
  };
  page.on('request', onRequest);
  try {
    return await driveLoop(page, opts, () => prolific);
  } finally {
    page.off('request', onRequest);
  }
}

async function driveLoop(page: Page, opts: DriveOptions, prolificUrl: () => string | null): Promise<DriveResult> {
  const answer = opts.answer ?? alwaysRight;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const answered: number[] = [];
  let plan: PlannedTrial[] | null = null;
  const typed: { index: number; picked: boolean }[] = [];
  while (Date.now() < deadline) {
    const redirected = prolificUrl();
    if (redirected) return { answered, finalUrl: redirected, ...(typed.length ? { typed } : {}) };
    // The exit page (experiment/exit-page.ts) leaves by itself once Prolific answers; here it cannot
    // be reached (no internet), so the page stays with the code: that is where the participant ends.
    const exit = await page
      .evaluate(() => {
        const el = document.querySelector<HTMLElement>('main[data-exit-url]');
        return el ? { ...el.dataset } : null;
      })
      .catch(() => null);
    if (exit) {
      if (exit.exitState === 'unreachable' || exit.exitState === 'offline')
        return { answered, finalUrl: exit.exitUrl!, ...(typed.length ? { typed } : {}) };
      await sleep(30);
      continue;
    }
    const choices = page.locator(
      '#jspsych-image-button-response-btngroup.visible button:enabled, #jspsych-audio-button-response-btngroup button:enabled',
    );
    if (
      (await choices.count()) > 0 &&
      (await choices
        .first()
        .isVisible()
        .catch(() => false))
    ) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      if (index === opts.stopBefore) return { answered, finalUrl: page.url(), stoppedAt: index };
      plan ??= await opts.plan();
      const labels = await choices.allTextContents();
      const label = answer(plan[index]!, labels);
      await choices
        .filter({ hasText: new RegExp(`^${label}$`) })
        .first()
        .click({ delay: opts.pressMs });
      answered.push(index);
      continue;
    }
    if (await visible(page, '#jspsych-typed-response-input:enabled')) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      plan ??= await opts.plan();
      // A typed trial shows no list of labels: the categories the plan asks for stand in for it.
      const choices = [...new Set(plan.filter((t) => t.phase !== 'headphone').map((t) => t.category))];
      typed.push({ index, picked: await typeAnswer(page, answer(plan[index]!, choices)) });
      answered.push(index);
      continue;
    }
    if (await visible(page, '#jspsych-typed-response-play:enabled')) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      if (index === opts.stopBefore) return { answered, finalUrl: page.url(), stoppedAt: index };
      await page.locator('#jspsych-typed-response-play').click();
      continue;
    }
    // The headphone check's volume sound: Continue opens once it has been heard.
    if (
      (await visible(page, '#metamer-calibration-play:enabled')) &&
      (await visible(page, '#jspsych-html-button-response-btngroup button:disabled'))
    ) {
      await page.locator('#metamer-calibration-play').click();
      continue;
    }
    if (await visible(page, '.metamer-start')) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      if (index === opts.stopBefore) return { answered, finalUrl: page.url(), stoppedAt: index };
      await page.locator('.metamer-start').click();
      continue;
    }
    for (const sel of ['#jspsych-fullscreen-btn', '#jspsych-html-button-response-btngroup button:enabled', '.message a.jspsych-btn']) {
      if (await visible(page, sel)) {
        await page
          .locator(sel)
          .first()
          .click()
          .catch(() => {});
        break;
      }
    }
    await sleep(30);
  }
  const text = await page
    .locator('body')
    .innerText()
    .catch(() => '(page gone)');
  await page.screenshot({ path: `test-output/stuck-${Date.now()}.png` }).catch(() => {});
  throw new Error(
    `participant did not finish in time; last URL ${page.url()}; answered ${answered.join(',')}; page says: ${text.slice(0, 300)}`,
  );
}

/**
 * Runs in the page (`page.evaluate(pendingInBrowser)`): the records the saving queue holds in
 * localStorage (what a reload would send).
 */
export function pendingInBrowser(): number {
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i)!;
    if (key.startsWith('metamer-queue:') && !key.endsWith(':refused')) return (JSON.parse(localStorage.getItem(key)!) as unknown[]).length;
  }
  return 0;
}
