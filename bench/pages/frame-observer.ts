/**
 * The timing bench's observer, injected before any page script (Playwright `addInitScript`). It
 * knows nothing of the code under test: once per rendered frame it records whether the stimulus
 * element (the image plugin's canvas), the mask and the fixation cross are visible.
 *
 * The sample shows what that frame renders (frame-clock.ts says how).
 */
import { onEveryRenderedFrame } from './frame-clock.ts';

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
const shown = (el: Element | null) => el?.isConnected === true && el.checkVisibility({ visibilityProperty: true, opacityProperty: true });

onEveryRenderedFrame((frameTime) => {
  const stim = document.getElementById(STIMULUS);
  log.t.push(frameTime);
  log.state.push(
    (shown(stim) ? 1 : 0) |
      (shown(document.querySelector('.metamer-mask')) ? 2 : 0) |
      (shown(document.querySelector('.metamer-fixation')) ? 4 : 0),
  );
  log.el.push(stim ? idOf(stim) : 0);
});
