/**
 * WebAudio for jsdom tests, which have none: an AudioContext whose clock runs once resumed, that
 * resumes only from within a user gesture (as browsers do), decodes a WAV's duration from its
 * header, and makes sources that end after that long and refuse a second start (as real ones do).
 * The sound itself is a real WAV served over HTTP by a real local server, so jsPsych's own loader
 * (fetch + decodeAudioData) runs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pcm16Wav } from '../fixtures/stimulus-sets.ts';

export class FakeBufferSource extends EventTarget {
  buffer: { duration: number } | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;
  constructor(private readonly context: FakeAudioContext) {
    super();
  }
  connect(): void {}
  start(): void {
    if (this.started) throw new Error('InvalidStateError: start() called twice on one source');
    this.started = true;
    this.context.starts.push({ state: this.context.state, at: this.context.currentTime });
    this.timer = setTimeout(() => this.dispatchEvent(new Event('ended')), this.buffer!.duration * 1000);
  }
  stop(): void {
    if (!this.started) throw new Error('InvalidStateError: stop() before start()');
    clearTimeout(this.timer);
  }
}

const GESTURES = new Set(['click', 'keydown', 'keyup', 'pointerdown', 'pointerup', 'mousedown', 'mouseup', 'touchend']);

export class FakeAudioContext {
  static last: FakeAudioContext | null = null;
  state: 'suspended' | 'running' = 'suspended';
  readonly destination = {};
  /** Every source start, with the context's state at that moment. */
  readonly starts: { state: string; at: number }[] = [];
  private runningSince = 0;
  constructor() {
    FakeAudioContext.last = this;
  }
  get currentTime(): number {
    return this.state === 'running' ? (performance.now() - this.runningSince) / 1000 : 0;
  }
  /** As in browsers: a suspended context starts only from within a user gesture. */
  resume(): Promise<void> {
    const during = (window as unknown as { event?: Event }).event?.type;
    if (this.state !== 'running' && during !== undefined && GESTURES.has(during)) {
      this.state = 'running';
      this.runningSince = performance.now();
    }
    return Promise.resolve();
  }
  /** Duration from the WAV header: data bytes / byte rate. */
  decodeAudioData(data: ArrayBuffer): Promise<{ duration: number }> {
    const view = new DataView(data);
    return Promise.resolve({ duration: view.getUint32(40, true) / view.getUint32(28, true) });
  }
  createBufferSource(): FakeBufferSource {
    return new FakeBufferSource(this);
  }
}

/** Call before creating the JsPsych instance: jsPsych makes its AudioContext in its constructor. */
export function installFakeAudioContext(): void {
  (window as unknown as { AudioContext: unknown }).AudioContext = FakeAudioContext;
}

export interface ClipServer {
  url: string;
  close(): Promise<void>;
}

/** A tone of `seconds` as a real WAV at http://127.0.0.1:<port>/clip.wav. */
export async function serveClip(seconds: number): Promise<ClipServer> {
  const rate = 8000;
  const samples = Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / rate));
  const wav = pcm16Wav(samples, rate);
  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'audio/wav' }).end(wav));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/clip.wav`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
