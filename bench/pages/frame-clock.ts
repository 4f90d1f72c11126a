/**
 * Calls `sample(frameTime)` once per rendered frame, at a moment when the sample shows what that
 * frame renders. A requestAnimationFrame callback of our own may run before or after the page's
 * own rAF callbacks in the same frame, so it would see the state before their changes half of the
 * time. ResizeObserver callbacks run in the same "update the rendering" step after every rAF
 * callback and after layout (HTML §8.1.7.3), so the sample is taken there: our rAF callback notes
 * the frame's timestamp and resizes a 1-px probe, which guarantees one ResizeObserver callback in
 * that frame. Used by the bench observers, injected before any page script.
 */
export function onEveryRenderedFrame(sample: (frameTime: number) => void): void {
  let frameTime = -1;
  let sampledFrame = -1;
  const probe = document.createElement('div');
  probe.setAttribute('aria-hidden', 'true');
  probe.style.cssText = 'position:fixed;left:-10px;top:0;height:1px;width:1px;pointer-events:none';
  let wide = false;
  new ResizeObserver(() => {
    if (frameTime < 0 || sampledFrame === frameTime) return;
    sampledFrame = frameTime;
    sample(frameTime);
  }).observe(probe);
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
}
