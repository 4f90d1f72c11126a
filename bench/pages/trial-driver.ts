/**
 * The network bench's participant for the trials, injected before any page script (Playwright
 * `addInitScript`) into both the participant page and the baseline. At every rendered frame it
 * looks at the usable buttons: it presses a trial's *Start trial* (image) or *Play* (audio) at
 * once, a break's *Continue* at once, and answers with the first choice `answer_after_ms` after
 * the choices became usable — a quick participant, whom the page can only keep waiting. After
 * `trials` answers it stops; the bench reads `window.__drive`.
 *
 * Clicks are programmatic (no user activation): the steps before the first trial, where the page
 * needs a real gesture (full screen, the audio context), are clicked by Playwright.
 */
import { onEveryRenderedFrame } from './frame-clock.ts';

export interface DriveConfig {
  trials: number;
  answer_after_ms: number;
}

export interface DriveState extends DriveConfig {
  answered: number;
  done: boolean;
}

const CHOICES = '#jspsych-image-button-response-btngroup.visible button, #jspsych-audio-button-response-btngroup button';
const state: DriveState = { trials: 0, answer_after_ms: 0, answered: 0, done: false };
(window as unknown as { __drive: DriveState }).__drive = state;

const usable = (b: HTMLButtonElement) => !b.disabled && b.checkVisibility({ visibilityProperty: true, opacityProperty: true });
let pending: HTMLButtonElement | null = null;

function press(button: HTMLButtonElement, afterMs: number, then: () => void = () => {}): void {
  pending = button;
  setTimeout(() => {
    if (button.isConnected && usable(button)) {
      button.click();
      then();
    }
    pending = null;
  }, afterMs);
}

onEveryRenderedFrame(() => {
  if (state.trials === 0 || state.done || pending) return;
  const choice = [...document.querySelectorAll<HTMLButtonElement>(CHOICES)].find(usable);
  if (choice) {
    return press(choice, state.answer_after_ms, () => {
      state.answered++;
      if (state.answered >= state.trials) state.done = true;
    });
  }
  const next = [...document.querySelectorAll<HTMLButtonElement>('button')].find(
    (b) => usable(b) && ['Start trial', 'Play', 'Continue'].includes(b.textContent?.trim() ?? ''),
  );
  if (next) press(next, 0);
});

/** Starts driving (the bench calls it once the first trial is on screen). */
(window as unknown as { __startDriving: (c: DriveConfig) => void }).__startDriving = (c) => Object.assign(state, c);
