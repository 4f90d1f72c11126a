/**
 * Plays a participant in a real browser: clicks through consent, instructions, trials, feedback,
 * breaks and the gate, answering each trial through a policy that sees the server's plan (the test
 * participant "recognises" what it is asked to). Stops at the Prolific redirect, or when asked.
 */
import type { Page } from 'playwright-core';
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
}

export interface DriveResult {
  answered: number[];
  finalUrl: string;
  stoppedAt?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function visible(page: Page, selector: string): Promise<boolean> {
  return page.locator(selector).first().isVisible().catch(() => false);
}

export async function driveParticipant(page: Page, opts: DriveOptions): Promise<DriveResult> {
  const answer = opts.answer ?? alwaysRight;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const answered: number[] = [];
  let plan: PlannedTrial[] | null = null;
  while (Date.now() < deadline) {
    if (page.url().startsWith('https://app.prolific.com/')) return { answered, finalUrl: page.url() };
    const choices = page.locator('#jspsych-image-button-response-btngroup.visible button:enabled, #jspsych-audio-button-response-btngroup button:enabled');
    if ((await choices.count()) > 0 && (await choices.first().isVisible().catch(() => false))) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      if (index === opts.stopBefore) return { answered, finalUrl: page.url(), stoppedAt: index };
      plan ??= await opts.plan();
      const labels = await choices.allTextContents();
      const label = answer(plan[index]!, labels);
      await choices.filter({ hasText: new RegExp(`^${label}$`) }).first().click();
      answered.push(index);
      continue;
    }
    if (await visible(page, '.metamer-start')) {
      const index = Number(await page.locator('#jspsych-target').getAttribute('data-trial-index'));
      if (index === opts.stopBefore) return { answered, finalUrl: page.url(), stoppedAt: index };
      await page.locator('.metamer-start').click();
      continue;
    }
    for (const sel of ['#jspsych-fullscreen-btn', '#jspsych-html-button-response-btngroup button', '.message a.jspsych-btn']) {
      if (await visible(page, sel)) {
        await page.locator(sel).first().click().catch(() => {});
        break;
      }
    }
    await sleep(30);
  }
  throw new Error(`participant did not finish in time; last URL ${page.url()}; answered ${answered.length}`);
}
