/**
 * Progressive loading of a session's stimuli: the first trial starts as soon as its own files are
 * decoded, and the rest arrive ahead of the participant in trial order, as far ahead as the line
 * can usefully carry.
 *
 * - Order: every file is fetched in the order of its first use (a trial's stimulus and its mask,
 *   the headphone check's volume sound before the check), never all at once.
 * - How far ahead: the files of the current and the next trial always; beyond them, only while
 *   the bytes fetched for trials not yet reached stay within what the line carries in `horizonMs`
 *   at its measured throughput (link-meter.ts), between `minAheadBytes` and `maxAheadBytes`
 *   (DEFAULT_POLICY): enough that a stalled or dropped connection eats into the lead before the
 *   participant notices, not so much that the line is spent on files a participant who stops early
 *   never sees.
 * - How many at once: enough downloads in flight to keep the line busy across a round trip (its
 *   bandwidth-delay product in files, plus one), at most four: more would only share the line with
 *   the file that is needed next. While a trial waits for its files, nothing for later trials
 *   starts, so the late file has the line to itself.
 * - Decoding: a trial's files are decoded (an image's pixels, a sound's samples) before it may
 *   start, so its presentation never waits on the decoder; decoded files are kept for the current
 *   trial and the next `DECODE_AHEAD - 1` only (a decoded 224 px image holds 200 KB of memory).
 *
 * A trial that comes before its files shows a short wait (stimulus-wait.ts), recorded as the
 * trial's `wait_ms`. Files are named by content hash and fetched in the plan's order, so what the
 * loader requests tells an observer nothing the session's own trial list does not.
 */
import type { LinkMeter } from './link-meter.ts';

/** A trial's index, or the headphone check's volume sound. */
export type StimulusKey = number | 'calibration';

/** What a trial asks of the loader once its wait is over. */
export interface TrialStimuli {
  /** Draws the decoded image of `url` onto the trial's canvas; false if none is held. */
  paint(canvas: HTMLCanvasElement, url: string): boolean;
  /** How long the trial waited for its files (ms), once its wait step has run. */
  waitMs(key: StimulusKey): number | undefined;
}

export interface StimulusSource {
  /** Fetches a file into the HTTP cache (retrying); resolves with its size in bytes. */
  fetch(url: string): Promise<number>;
  readonly link: LinkMeter;
}

export interface LoadingPolicy {
  horizonMs: number;
  minAheadBytes: number;
  maxAheadBytes: number;
}

/**
 * Ten seconds of the line, at least 1 MB (ten paper-size images, fifteen seconds of trials), at most
 * 4 MB (forty images: a minute of trials, which a dropped connection can take away before anyone
 * waits). On a line that carries more than the study shows (a 1.6 Mbit/s line brings an image in
 * half a second; a trial lasts 1.5 s) ten seconds of it are half a minute of trials or more.
 */
export const DEFAULT_POLICY: LoadingPolicy = { horizonMs: 10_000, minAheadBytes: 1 << 20, maxAheadBytes: 4 << 20 };

/** Trials whose files are fetched whatever the budget: the current one and the next. */
const ALWAYS_AHEAD = 2;
/** Trials held decoded: the current one and the next two. */
const DECODE_AHEAD = 3;
const MAX_IN_FLIGHT = 4;
/** In flight before anything is measured: a trial's stimulus and its mask together. */
const FIRST_IN_FLIGHT = 2;
/** A file's size before any has been measured: a paper-size image. */
const GUESSED_FILE_BYTES = 100_000;

interface FileState<T> {
  url: string;
  /** Positions (in the loader's order) of the items that use the file, ascending. */
  uses: number[];
  size: number | null;
  /** Settles when the download has ended. */
  fetched: Promise<void>;
  settle: { resolve: () => void; reject: (e: Error) => void };
  decoding: Promise<T> | null;
  handle: T | null;
}

interface Item<T> {
  key: StimulusKey;
  files: FileState<T>[];
}

export interface LoaderState {
  /** Position of the item the participant is at. */
  current: number;
  /** Files whose download has started, of `files`. */
  started: number;
  files: number;
  inFlight: number;
  /** Bytes fetched (or being fetched) for items not yet reached, and the budget for them. */
  aheadBytes: number;
  budgetBytes: number;
  /** Downloads allowed in flight now. */
  slots: number;
  /** Files held decoded. */
  decoded: number;
}

export class StimulusLoader<T> implements TrialStimuli {
  private readonly items: Item<T>[] = [];
  private readonly positions = new Map<StimulusKey, number>();
  private readonly files = new Map<string, FileState<T>>();
  /** Files in the order of their first use: the order they are fetched in. */
  private readonly queue: FileState<T>[] = [];
  private next = 0;
  private current = 0;
  private waitingAt: number | null = null;
  private inFlight = 0;
  private running = false;
  private readonly waits = new Map<StimulusKey, number>();

  constructor(
    private readonly source: StimulusSource,
    private readonly decode: (url: string) => Promise<T>,
    private readonly policy: LoadingPolicy = DEFAULT_POLICY,
  ) {}

  /** Appends an item (in presentation order) with the files it needs. */
  add(key: StimulusKey, urls: string[]): void {
    if (this.positions.has(key)) throw new Error(`stimulus loader: ${String(key)} added twice`);
    const position = this.items.length;
    const files = [...new Set(urls)].map((url) => {
      let f = this.files.get(url);
      if (!f) {
        let settle!: FileState<T>['settle'];
        const fetched = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
        // Nobody may be waiting for a file fetched ahead when it fails; whoever needs it hears then.
        fetched.catch(() => {});
        f = { url, uses: [], size: null, fetched, settle, decoding: null, handle: null };
        this.files.set(url, f);
        this.queue.push(f);
      }
      f.uses.push(position);
      return f;
    });
    this.positions.set(key, position);
    this.items.push({ key, files });
  }

  /** Starts downloading (the first item's files first). */
  start(): void {
    this.running = true;
    this.pump();
  }

  /**
   * The participant has reached this item: resolves once its files are decoded. Items before it
   * are done with; their decoded files are let go.
   */
  ready(key: StimulusKey): Promise<void> {
    const position = this.positions.get(key);
    if (position === undefined) return Promise.resolve();
    const item = this.items[position]!;
    const ready = this.decodedItem(item);
    // Set before moving on, so that the downloads started now are this item's.
    if (!ready) this.waitingAt = position;
    this.advance(position);
    if (ready) return Promise.resolve();
    const clear = () => {
      if (this.waitingAt === position) this.waitingAt = null;
      this.pump();
    };
    return Promise.all(item.files.map((f) => this.decoded(f))).then(clear, (e: unknown) => {
      clear();
      throw e;
    });
  }

  /** Whether the item's files are decoded now. */
  isReady(key: StimulusKey): boolean {
    const position = this.positions.get(key);
    return position === undefined || this.decodedItem(this.items[position]!);
  }

  noteWait(key: StimulusKey, ms: number): void {
    this.waits.set(key, ms);
  }

  waitMs(key: StimulusKey): number | undefined {
    return this.waits.get(key);
  }

  /** The decoded form of a file, if held. */
  decodedFile(url: string): T | null {
    return this.files.get(url)?.handle ?? null;
  }

  paint(canvas: HTMLCanvasElement, url: string): boolean {
    const image = this.decodedFile(url);
    if (typeof HTMLImageElement === 'undefined' || !(image instanceof HTMLImageElement)) return false;
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    canvas.getContext('2d')?.drawImage(image, 0, 0);
    return true;
  }

  /** For diagnostics and tests: where the loader stands. */
  state(): LoaderState {
    const { budget, slots } = this.limits();
    return {
      current: this.current,
      started: this.next,
      files: this.queue.length,
      inFlight: this.inFlight,
      aheadBytes: this.aheadBytes(),
      budgetBytes: budget,
      slots,
      decoded: this.queue.filter((f) => f.handle !== null).length,
    };
  }

  private decodedItem(item: Item<T>): boolean {
    return item.files.every((f) => f.handle !== null);
  }

  private inDecodeWindow(f: FileState<T>): boolean {
    return f.uses.some((p) => p >= this.current && p < this.current + DECODE_AHEAD);
  }

  private async decoded(f: FileState<T>): Promise<void> {
    await f.fetched;
    await this.startDecode(f);
  }

  private startDecode(f: FileState<T>): Promise<T> {
    if (f.decoding !== null) return f.decoding;
    const p: Promise<T> = this.decode(f.url).then(
      (handle) => {
        // Let go meanwhile (the participant moved on): not kept.
        if (f.decoding === p) f.handle = handle;
        return handle;
      },
      (e: unknown) => {
        throw new Error(`${f.url} could not be decoded (${e instanceof Error ? e.message : String(e)})`);
      },
    );
    p.catch(() => {});
    f.decoding = p;
    return p;
  }

  private advance(position: number): void {
    if (position < this.current) return;
    this.current = position;
    for (const f of this.queue.slice(0, this.next)) {
      if (this.inDecodeWindow(f)) {
        if (f.size !== null) void this.startDecode(f);
      } else if (f.decoding !== null) {
        f.decoding = null;
        f.handle = null;
      }
    }
    this.pump();
  }

  /** Bytes fetched or being fetched for items not yet reached (the guess for sizes not yet known). */
  private aheadBytes(): number {
    const guess = this.source.link.meanBytes() ?? GUESSED_FILE_BYTES;
    let sum = 0;
    for (const f of this.queue.slice(0, this.next)) if (f.uses[0]! > this.current) sum += f.size ?? guess;
    return sum;
  }

  private limits(): { budget: number; slots: number; guess: number } {
    const link = this.source.link;
    const rate = link.throughput();
    const latency = link.latency();
    const guess = link.meanBytes() ?? GUESSED_FILE_BYTES;
    const { horizonMs, minAheadBytes, maxAheadBytes } = this.policy;
    if (rate === null || latency === null) return { budget: minAheadBytes, slots: FIRST_IN_FLIGHT, guess };
    return {
      budget: Math.min(maxAheadBytes, Math.max(minAheadBytes, rate * horizonMs)),
      slots: Math.min(MAX_IN_FLIGHT, 1 + Math.ceil((rate * latency) / guess)),
      guess,
    };
  }

  private pump(): void {
    if (!this.running) return;
    const { budget, slots, guess } = this.limits();
    while (this.inFlight < slots && this.next < this.queue.length) {
      const f = this.queue[this.next]!;
      // Needed only by items already passed (a jump ahead): never fetched.
      if (f.uses[f.uses.length - 1]! < this.current) {
        this.next++;
        continue;
      }
      const first = f.uses[0]!;
      // A trial is waiting: the line is its until its files are in.
      if (this.waitingAt !== null && first > this.waitingAt) break;
      if (first >= this.current + ALWAYS_AHEAD && this.aheadBytes() + guess > budget) break;
      this.next++;
      this.download(f);
    }
  }

  private download(f: FileState<T>): void {
    this.inFlight++;
    this.source.fetch(f.url).then(
      (bytes) => {
        this.inFlight--;
        f.size = bytes;
        f.settle.resolve();
        if (this.inDecodeWindow(f)) void this.startDecode(f);
        this.pump();
      },
      (e: unknown) => {
        this.inFlight--;
        f.settle.reject(e instanceof Error ? e : new Error(String(e)));
        this.pump();
      },
    );
  }
}

/** Images: decoded by the browser off the main thread; the element keeps the decoded pixels alive. */
export async function decodeImage(url: string): Promise<HTMLImageElement> {
  const image = new Image();
  image.src = url;
  await image.decode();
  return image;
}
