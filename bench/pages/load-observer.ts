/**
 * The page bench's observer, injected before any page script (Playwright `addInitScript`): at
 * every rendered frame it notes which buttons a participant can use (visible and enabled, by their
 * text), and it notes every click the page receives. From these the bench reads when each screen
 * became usable and how long the page made the participant wait after each click.
 *
 * Sampled once per rendered frame, showing what that frame renders (frame-clock.ts).
 */
import { onEveryRenderedFrame } from './frame-clock.ts';

export interface LoadLog {
  /** Frame timestamp (performance.now() clock, 0 = navigation start) and the usable buttons, on change. */
  screens: { t: number; buttons: string[] }[];
  clicks: { t: number; text: string }[];
}

const log: LoadLog = { screens: [], clicks: [] };
(window as unknown as { __load: LoadLog }).__load = log;

addEventListener(
  'click',
  (e) => {
    const target = e.target instanceof Element ? e.target.closest('button') : null;
    log.clicks.push({ t: e.timeStamp, text: target?.textContent?.trim() ?? '' });
  },
  { capture: true },
);

let last = '';
onEveryRenderedFrame((frameTime) => {
  const buttons = [...document.querySelectorAll('button')]
    .filter((b) => !b.disabled && b.checkVisibility({ visibilityProperty: true, opacityProperty: true }))
    .map((b) => b.textContent?.trim() ?? '');
  const key = buttons.join('\n');
  if (key !== last) {
    last = key;
    log.screens.push({ t: frameTime, buttons });
  }
});
