/**
 * The page bench's observer, injected before any page script (Playwright `addInitScript`): at
 * every rendered frame it notes which buttons a participant can use (visible and enabled, by their
 * text), and it notes every click the page receives. From these the bench reads when each screen
 * became usable and how long the page made the participant wait after each click.
 *
 * Sampled as in frame-observer.ts: in a ResizeObserver callback, which runs after all of the
 * frame's requestAnimationFrame callbacks and layout, so a sample shows what that frame renders.
 */

interface LoadLog {
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

let frameTime = -1;
let sampledFrame = -1;
let last = '';
const sample = () => {
  if (frameTime < 0 || sampledFrame === frameTime) return;
  sampledFrame = frameTime;
  const buttons = [...document.querySelectorAll('button')]
    .filter((b) => !b.disabled && b.checkVisibility({ visibilityProperty: true, opacityProperty: true }))
    .map((b) => b.textContent?.trim() ?? '');
  const key = buttons.join('\n');
  if (key !== last) {
    last = key;
    log.screens.push({ t: frameTime, buttons });
  }
};

const probe = document.createElement('div');
probe.setAttribute('aria-hidden', 'true');
probe.style.cssText = 'position:fixed;left:-10px;top:0;height:1px;width:1px;pointer-events:none';
let wide = false;
new ResizeObserver(sample).observe(probe);
const onFrame = (t: number) => {
  frameTime = t;
  wide = !wide;
  probe.style.width = wide ? '2px' : '1px';
  requestAnimationFrame(onFrame);
};
const attach = () => {
  document.documentElement.append(probe);
  requestAnimationFrame(onFrame);
};
if (document.documentElement) attach();
else document.addEventListener('DOMContentLoaded', attach, { once: true });
