/**
 * Chrome's own record of what it drew, for the timing bench's cross-check: a DevTools trace taken
 * through a CDP session, with the screenshot the compositor captures for every frame that changed
 * (the DevTools Performance panel's filmstrip) and the compositor's frame events.
 */
import type { CDPSession, Page } from 'playwright-core';
import jpeg from 'jpeg-js';

export interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: string;
  args?: Record<string, unknown> & { snapshot?: string; expected_display_time?: number; frame_sequence?: number };
}

const CATEGORIES = ['disabled-by-default-devtools.screenshot', 'disabled-by-default-devtools.timeline.frame', 'devtools.timeline'].join(
  ',',
);

export interface TraceRecorder {
  stop(): Promise<TraceEvent[]>;
}

export async function startTrace(page: Page): Promise<TraceRecorder> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReturnAsStream' });
  return {
    async stop() {
      const complete = new Promise<string>((resolve, reject) => {
        cdp.once('Tracing.tracingComplete', (e) => (e.stream ? resolve(e.stream) : reject(new Error('trace came without a stream'))));
      });
      await cdp.send('Tracing.end');
      const handle = await complete;
      const chunks: Buffer[] = [];
      for (;;) {
        const r = await cdp.send('IO.read', { handle, size: 1 << 20 });
        chunks.push(Buffer.from(r.data, r.base64Encoded ? 'base64' : 'utf8'));
        if (r.eof) break;
      }
      await cdp.send('IO.close', { handle });
      await cdp.detach();
      const text = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(text) as { traceEvents?: TraceEvent[] } | TraceEvent[];
      return Array.isArray(parsed) ? parsed : (parsed.traceEvents ?? []);
    },
  };
}

/** What a screenshot shows in the bench's colour code: the red image, the blue mask, or neither. */
export type Shown = 'image' | 'mask' | 'other';

export interface Screenshot {
  /** When the compositor expected to display this frame (trace clock, ms). */
  ms: number;
  /** The frame's BeginFrame sequence number (one per tick of the 60 Hz frame source). */
  seq: number;
  shown: Shown;
}

/**
 * Classifies every filmstrip frame by counting strongly red and strongly blue pixels (the bench's
 * images are red, its mask blue; text and the fixation cross are black on white). A stimulus
 * covers ~4 % of a 1280×900 viewport; 1 % of the sampled pixels is the threshold, far above JPEG
 * fringes and far below a fully drawn image.
 */
export function screenshots(events: TraceEvent[]): Screenshot[] {
  const out: Screenshot[] = [];
  for (const e of events) {
    if (e.name !== 'Screenshot' || typeof e.args?.snapshot !== 'string') continue;
    const img = jpeg.decode(Buffer.from(e.args.snapshot, 'base64'), { useTArray: true, formatAsRGBA: true });
    let red = 0;
    let blue = 0;
    let n = 0;
    for (let y = 0; y < img.height; y += 2) {
      for (let x = 0; x < img.width; x += 2) {
        const i = (y * img.width + x) * 4;
        const r = img.data[i]!;
        const g = img.data[i + 1]!;
        const b = img.data[i + 2]!;
        n++;
        if (r > 140 && g < 100 && b < 100) red++;
        else if (b > 140 && r < 100 && g < 100) blue++;
      }
    }
    out.push({
      ms: (e.args.expected_display_time ?? e.ts) / 1000,
      seq: e.args.frame_sequence ?? NaN,
      shown: red > n * 0.01 ? 'image' : blue > n * 0.01 ? 'mask' : 'other',
    });
  }
  return out.sort((a, b) => a.ms - b.ms);
}

/** Intervals between the renderer compositor's BeginFrame ticks (its frame clock), ms. */
export function beginFrameIntervals(events: TraceEvent[]): number[] {
  const ts = events
    .filter((e) => e.name === 'BeginFrame')
    .map((e) => e.ts / 1000)
    .sort((a, b) => a - b);
  return ts.slice(1).map((t, i) => t - ts[i]!);
}

/** Sequence numbers of the frames the compositor reports as dropped (not produced in time). */
export function droppedFrames(events: TraceEvent[]): number[] {
  return events.filter((e) => e.name === 'DroppedFrame').map((e) => Number(e.args?.frameSeqId ?? NaN));
}
