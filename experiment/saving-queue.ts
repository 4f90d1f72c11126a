/**
 * The saving queue: every trial is written to localStorage the moment it ends (synchronously, so a
 * tab closed a millisecond later still has it), then sent to the server one at a time, in order,
 * with exponential backoff on failure. On `pagehide` whatever is still pending goes out by
 * `navigator.sendBeacon`; the copy stays queued until a real acknowledgement, so a beacon that
 * did arrive is simply a duplicate on the next load (the server answers duplicates with 200).
 *
 * Answers: 200 with `{stored}` → done. 409 `conflict` → the server holds a different record for
 * that index; the stored one stands, drop ours. 410 → the session has ended (screened out): stop.
 * A 4xx carrying one of the API's own refusal codes → the record can never be accepted: set it
 * aside (kept in storage, reported). Anything else — 425, 429, 5xx, a network error, a redirect, or
 * an answer that is not the API's (a captive portal's 200 page, a proxy's 403) — is retried later:
 * only the API's own acknowledgement removes a record. 425 `too_early` (the server's pacing check,
 * which an honest page never meets) is retried like the rest.
 *
 * Acknowledgements are passed to `onAck` listeners: a practice trial's carries its feedback.
 */
import type { TrialAck, TrialRecord } from './contract.ts';

export interface QueueEnvironment {
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  fetch: typeof fetch;
  sendBeacon: ((url: string, data: BodyInit) => boolean) | null;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  random: () => number;
}

export type QueueStatus = { pending: number; retrying: boolean; lastError: string | null; ended: boolean };

const MIN_BACKOFF_MS = 500;
/** What the trial endpoint answers: an acknowledgement or an ErrorBody (contract.ts). */
type ApiReply = { stored?: string; code?: string; error?: string; feedback?: TrialAck['feedback'] };

/** The API's own codes for a record that can never be stored (server/participant-sessions.ts). */
const REFUSALS = new Set([
  'invalid_trial',
  'no_such_trial',
  'invalid_response',
  'no_session',
  'entity.too.large',
  'entity.parse.failed',
  'unsupported_media_type',
]);
const MAX_BACKOFF_MS = 15_000;

export class SavingQueue {
  private items: TrialRecord[];
  private sending = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: unknown = null;
  private waiters: (() => void)[] = [];
  private listeners: ((s: QueueStatus) => void)[] = [];
  private ackListeners: ((index: number, ack: TrialAck) => void)[] = [];
  private status: QueueStatus;
  /** Records the server refused for good (kept for the console; never silently). */
  readonly rejected: { record: TrialRecord; reason: string }[] = [];

  constructor(
    private readonly url: string,
    private readonly storageKey: string,
    private readonly env: QueueEnvironment,
  ) {
    this.items = this.load();
    this.status = { pending: this.items.length, retrying: false, lastError: null, ended: false };
  }

  private load(): TrialRecord[] {
    try {
      const raw = this.env.storage?.getItem(this.storageKey);
      return raw ? (JSON.parse(raw) as TrialRecord[]) : [];
    } catch {
      return [];
    }
  }

  private persist(): void {
    try {
      if (this.items.length === 0) this.env.storage?.removeItem(this.storageKey);
      else this.env.storage?.setItem(this.storageKey, JSON.stringify(this.items));
    } catch {
      // Storage full or disabled (some private modes): the in-memory queue still sends.
    }
  }

  private emit(patch: Partial<QueueStatus>): void {
    this.status = { ...this.status, ...patch, pending: this.items.length };
    for (const l of this.listeners) l(this.status);
    if (this.items.length === 0 || this.status.ended) {
      const w = this.waiters;
      this.waiters = [];
      for (const resolve of w) resolve();
    }
  }

  onStatus(listener: (s: QueueStatus) => void): void {
    this.listeners.push(listener);
  }

  /** Called with each acknowledgement the server sends (not for beacons, which get none); returns an unsubscribe. */
  onAck(listener: (index: number, ack: TrialAck) => void): () => void {
    this.ackListeners.push(listener);
    return () => {
      this.ackListeners = this.ackListeners.filter((l) => l !== listener);
    };
  }

  get ended(): boolean {
    return this.status.ended;
  }

  /** Indices still waiting for acknowledgement (they count as done for resuming). */
  pendingIndices(): number[] {
    return this.items.map((r) => r.trial_index);
  }

  enqueue(record: TrialRecord): void {
    if (!this.items.some((r) => r.trial_index === record.trial_index)) this.items.push(record);
    this.persist();
    this.emit({});
    this.kick();
  }

  /** Starts sending now (also after coming back online). */
  kick(): void {
    if (this.timer !== null) {
      this.env.clearTimeout(this.timer);
      this.timer = null;
      this.backoff = MIN_BACKOFF_MS;
    }
    void this.pump();
  }

  /** Resolves when every queued record has been acknowledged (or the session has ended). */
  drain(): Promise<void> {
    if (this.items.length === 0 || this.status.ended) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Last resort on pagehide: the browser delivers beacons even as the page goes away. */
  beaconAll(): void {
    if (!this.env.sendBeacon) return;
    for (const r of this.items) this.env.sendBeacon(this.url, JSON.stringify(r));
  }

  private async pump(): Promise<void> {
    if (this.sending || this.status.ended) return;
    this.sending = true;
    try {
      while (this.items.length > 0 && !this.status.ended) {
        const record = this.items[0]!;
        const outcome = await this.send(record);
        if (outcome === 'retry') {
          const wait = this.backoff * (0.75 + 0.5 * this.env.random());
          this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
          this.timer = this.env.setTimeout(() => {
            this.timer = null;
            void this.pump();
          }, wait);
          return;
        }
        this.backoff = MIN_BACKOFF_MS;
        this.items.shift();
        this.persist();
        this.emit({ retrying: false, lastError: null, ended: outcome === 'ended' });
      }
    } finally {
      this.sending = false;
    }
  }

  private async send(record: TrialRecord): Promise<'done' | 'retry' | 'ended'> {
    let res: Response;
    let body: ApiReply | null = null;
    try {
      res = await this.env.fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(record),
        keepalive: true,
        // A redirect is never the API's answer (a captive portal, a login page): retry later.
        redirect: 'error',
      });
      body = (await res.json().catch(() => null)) as ApiReply | null;
    } catch (e) {
      this.emit({ retrying: true, lastError: e instanceof Error ? e.message : String(e) });
      return 'retry';
    }
    if (res.ok && (body?.stored === 'created' || body?.stored === 'duplicate')) {
      const ack: TrialAck = body.feedback ? { stored: body.stored, feedback: body.feedback } : { stored: body.stored };
      for (const l of this.ackListeners) l(record.trial_index, ack);
      return 'done';
    }
    if (res.status === 409 && body?.code === 'conflict') return 'done';
    if (res.status === 410 && body?.code) return 'ended';
    if (res.status >= 400 && res.status < 500 && body?.code && REFUSALS.has(body.code)) {
      const reason = body.error ?? body.code;
      this.rejected.push({ record, reason });
      this.setAside(record, reason);
      console.error(`trial ${record.trial_index} was refused: ${reason}`);
      return 'done';
    }
    this.emit({ retrying: true, lastError: `server answered ${res.status}` });
    return 'retry';
  }

  /** Refused records stay in storage (under their own key) for the researcher to recover. */
  private setAside(record: TrialRecord, reason: string): void {
    try {
      const key = `${this.storageKey}:refused`;
      const kept = JSON.parse(this.env.storage?.getItem(key) ?? '[]') as unknown[];
      kept.push({ record, reason });
      this.env.storage?.setItem(key, JSON.stringify(kept));
    } catch {
      // Storage unavailable: the console line above is all there is.
    }
  }
}
