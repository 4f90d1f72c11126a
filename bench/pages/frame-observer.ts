/**
 * The timing bench's observer, injected before any page script (Playwright `addInitScript`). It
 * knows nothing of the code under test: once per rendered frame it records whether the stimulus
 * element (the image plugin's canvas), the mask and the fixation cross are visible.
 *
 * The sample has to show what that frame renders. A requestAnimationFrame callback of our own
 * may run before or after the code under test's callbacks in the same frame, so it would see the
 * state before their changes half of the time. ResizeObserver callbacks run in the same
 * "update the rendering" step after every rAF callback and after layout (HTML §8.1.7.3), so the
 * sample is taken there: our rAF callback notes the frame's timestamp and resizes a 1-px probe,
 * which guarantees one ResizeObserver callback in that frame.
 */

interface FrameLog {
  /** rAF timestamp (performance.now() clock) of each rendered frame. */
  t: number[];
  /** Bits: 1 stimulus visible, 2 mask visible, 4 fixation visible. */
  state: number[];
  /** Identity of the stimulus element in the DOM that frame (0: none); a new trial makes a new one. */
  el: number[];
}

const STIMULUS = 'jspsych-image-button-response-stimulus';
const log: FrameLog = { t: [], state: [], el: [] };
(window as unknown as { __frames: FrameLog }).__frames = log;

const ids = new WeakMap<Element, number>();
let nextId = 1;
const idOf = (el: Element) => {
  let id = ids.get(el);
  if (id === undefined) ids.set(el, (id = nextId++));
  return id;
};
const shown = (el: Element | null) => el !== null && el.isConnected && el.checkVisibility({ visibilityProperty: true, opacityProperty: true });

let frameTime = -1;
let sampledFrame = -1;
const sample = () => {
  if (frameTime < 0 || sampledFrame === frameTime) return;
  sampledFrame = frameTime;
  const stim = document.getElementById(STIMULUS);
  log.t.push(frameTime);
  log.state.push((shown(stim) ? 1 : 0) | (shown(document.querySelector('.metamer-mask')) ? 2 : 0) | (shown(document.querySelector('.metamer-fixation')) ? 4 : 0));
  log.el.push(stim ? idOf(stim) : 0);
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
