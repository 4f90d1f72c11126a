/**
 * What the image trial's canvas held at every rendered frame in which it was visible, injected
 * before any page script (Playwright `addInitScript`) beside frame-observer.ts: a checksum of its
 * pixels (pixel-checksum.ts), so that a check can tell that each trial showed its own, fully
 * decoded image for every frame of its on-screen time — not a blank or half-drawn canvas. For
 * frames showing the mask, whether the mask image had loaded.
 *
 * Sampled once per rendered frame, showing what that frame renders (frame-clock.ts).
 */
import { onEveryRenderedFrame } from './frame-clock.ts';
import { pixelChecksum } from './pixel-checksum.ts';

export interface PaintLog {
  /** Frames with the stimulus visible: frame time, the canvas's checksum (null: unreadable), its width. */
  stimulus: { t: number; sum: number | null; width: number }[];
  /** Frames with the mask visible: frame time, whether its image had loaded. */
  mask: { t: number; loaded: boolean }[];
}

const log: PaintLog = { stimulus: [], mask: [] };
(window as unknown as { __paint: PaintLog }).__paint = log;

const shown = (el: Element | null) => el?.isConnected === true && el.checkVisibility({ visibilityProperty: true, opacityProperty: true });

onEveryRenderedFrame((t) => {
  const canvas = document.getElementById('jspsych-image-button-response-stimulus');
  if (canvas instanceof HTMLCanvasElement && shown(canvas)) {
    let sum: number | null = null;
    try {
      sum = pixelChecksum(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
    } catch {
      // A canvas with a cross-origin image cannot be read.
    }
    log.stimulus.push({ t, sum, width: canvas.width });
  }
  const mask = document.querySelector<HTMLImageElement>('img.metamer-mask');
  if (mask && shown(mask)) log.mask.push({ t, loaded: mask.complete && mask.naturalWidth > 0 });
});
