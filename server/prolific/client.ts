/**
 * A small client for the Prolific API calls this platform makes, typed by hand from the published
 * reference (api-schemas.ts cites each page). Authentication is "Header authentication of the form
 * Token <token>" (every endpoint's page, e.g. https://docs.prolific.com/api-reference/submissions/get-submission).
 *
 * The token lives in a private field: it is never part of an error, a log line or a JSON dump.
 * Errors name the endpoint by its template (`/api/v1/submissions/{id}/transition/`), never by the
 * raw ids in the path. Reads and the documented-idempotent transition are retried on 429 and 5xx;
 * set-ups, return requests and above all the bonus pay call (not idempotent) are sent once.
 */
import type { z } from 'zod';
import { BonusSetUp, errorDetail, HookSecret, HookSubscription, ProlificStudy, ProlificSubmission, SubmissionPage } from './api-schemas.ts';
import { prolificApiUrl, requireProlificToken } from './settings.ts';

/** Prolific's rejection categories (transition-submission; the same list as prolific-oss/cli). */
export const REJECTION_CATEGORIES = [
  'TOO_QUICKLY',
  'TOO_SLOWLY',
  'FAILED_INSTRUCTIONS',
  'INCOMP_LONGITUDINAL',
  'FAILED_CHECK',
  'LOW_EFFORT',
  'MALINGERING',
  'NO_CODE',
  'BAD_CODE',
  'NO_DATA',
  'UNSUPP_DEVICE',
  'OTHER',
] as const;
export type RejectionCategory = (typeof REJECTION_CATEGORIES)[number];

/** "Message sent to the participant explaining the reason for the rejection. It must be at least 100 chars long." */
export const MIN_REJECTION_MESSAGE = 100;

export class ProlificApiError extends Error {
  readonly expose = true as const;
  constructor(
    readonly route: string,
    /** HTTP status, or 0 when no answer came (network error, timeout). */
    readonly httpStatus: number,
    readonly detail: string,
  ) {
    super(
      httpStatus === 0
        ? `Prolific did not answer ${route}: ${detail}`
        : `Prolific answered ${httpStatus} to ${route}${detail ? `: ${detail}` : ''}`,
    );
  }

  /** No answer: the request may or may not have been carried out. */
  get outcomeUnknown(): boolean {
    return this.httpStatus === 0;
  }
}

export interface ProlificClientOptions {
  token: string;
  /** The API's origin (default https://api.prolific.com; a local stand-in in tests). */
  baseUrl: string;
  timeoutMs?: number;
  /** Waits between retries of reads; tests shorten them. */
  retryDelaysMs?: readonly number[];
}

interface Call {
  method: 'GET' | 'POST';
  /** The endpoint's template, for errors: ids never appear in messages. */
  route: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Safe to send again when no answer, a 429 or a 5xx came back. */
  retry: boolean;
  expect: number[];
}

const seg = (id: string) => encodeURIComponent(id);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PAGE_SIZE = 100;

export class ProlificClient {
  readonly #token: string;
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retryDelays: readonly number[];

  constructor(opts: ProlificClientOptions) {
    this.#token = opts.token;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retryDelays = opts.retryDelaysMs ?? [500, 2000];
  }

  /** From PROLIFIC_API_TOKEN and PROLIFIC_API_URL; a one-line user error when the token is not set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ProlificClient {
    return new ProlificClient({ token: requireProlificToken(env), baseUrl: prolificApiUrl(env) });
  }

  toJSON() {
    return { baseUrl: this.baseUrl };
  }

  private async send(c: Call): Promise<{ status: number; headers: Headers; body: unknown }> {
    const url = new URL(this.baseUrl + c.path);
    for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Authorization: `Token ${this.#token}`, Accept: 'application/json' };
    if (c.body !== undefined) headers['Content-Type'] = 'application/json';
    const attempts = c.retry ? this.retryDelays.length + 1 : 1;
    let last: ProlificApiError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep(this.retryDelays[attempt - 1]!);
      let res: Response;
      try {
        res = await fetch(url, {
          method: c.method,
          headers,
          body: c.body === undefined ? undefined : JSON.stringify(c.body),
          signal: AbortSignal.timeout(this.timeoutMs),
          redirect: 'error',
        });
      } catch (e) {
        last = new ProlificApiError(c.route, 0, e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'connection failed');
        continue;
      }
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: kept as text for the error message
      }
      if (c.expect.includes(res.status)) return { status: res.status, headers: res.headers, body };
      last = new ProlificApiError(c.route, res.status, errorDetail(body));
      if (res.status !== 429 && res.status < 500) break;
    }
    throw last!;
  }

  private parse<T extends z.ZodType>(schema: T, route: string, body: unknown): z.infer<T> {
    const r = schema.safeParse(body);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new ProlificApiError(route, 200, `unexpected answer (${i.path.join('.') || 'body'}: ${i.message})`);
    }
    return r.data;
  }

  /** https://docs.prolific.com/api-reference/studies/get-study */
  async getStudy(id: string): Promise<ProlificStudy> {
    const route = 'GET /api/v1/studies/{id}/';
    const r = await this.send({ method: 'GET', route, path: `/api/v1/studies/${seg(id)}/`, retry: true, expect: [200] });
    return this.parse(ProlificStudy, route, r.body);
  }

  /** Every submission of a study, page by page: https://docs.prolific.com/api-reference/submissions/get-submissions */
  async listSubmissions(studyId: string): Promise<ProlificSubmission[]> {
    const route = 'GET /api/v1/submissions/';
    const all: ProlificSubmission[] = [];
    for (let page = 1; page <= 10_000; page++) {
      const r = await this.send({
        method: 'GET',
        route,
        path: '/api/v1/submissions/',
        query: { study: studyId, page: String(page), page_size: String(PAGE_SIZE) },
        retry: true,
        expect: [200],
      });
      const p = this.parse(SubmissionPage, route, r.body);
      all.push(...p.results);
      const next = p._links?.next?.href;
      const count = p.meta?.count;
      if (p.results.length === 0 || next === null) break;
      if (count !== undefined && count !== null ? all.length >= count : next === undefined && p.results.length < PAGE_SIZE) break;
    }
    return all;
  }

  /** https://docs.prolific.com/api-reference/submissions/get-submission (with `bonus_payments`) */
  async getSubmission(id: string): Promise<ProlificSubmission> {
    const route = 'GET /api/v1/submissions/{id}/';
    const r = await this.send({ method: 'GET', route, path: `/api/v1/submissions/${seg(id)}/`, retry: true, expect: [200] });
    return this.parse(ProlificSubmission, route, r.body);
  }

  /**
   * https://docs.prolific.com/api-reference/submissions/transition-submission — "this endpoint is
   * idempotent, so if you make the same request twice, the second request will be ignored".
   */
  private async transition(id: string, body: Record<string, string>): Promise<ProlificSubmission> {
    const route = 'POST /api/v1/submissions/{id}/transition/';
    const r = await this.send({
      method: 'POST',
      route,
      path: `/api/v1/submissions/${seg(id)}/transition/`,
      body,
      retry: true,
      expect: [200],
    });
    return this.parse(ProlificSubmission, route, r.body);
  }

  approve(submissionId: string): Promise<ProlificSubmission> {
    return this.transition(submissionId, { action: 'APPROVE' });
  }

  /** "message … Required if action is 'REJECT' … at least 100 chars"; "rejection_category … Required if action is 'REJECT'". */
  reject(submissionId: string, category: RejectionCategory, message: string): Promise<ProlificSubmission> {
    return this.transition(submissionId, { action: 'REJECT', message, rejection_category: category });
  }

  /** https://docs.prolific.com/api-reference/submissions/request-submission-return (reasons are free text). */
  async requestReturn(submissionId: string, reasons: readonly string[]): Promise<void> {
    const route = 'POST /api/v1/submissions/{id}/request-return/';
    await this.send({
      method: 'POST',
      route,
      path: `/api/v1/submissions/${seg(submissionId)}/request-return/`,
      body: { request_return_reasons: [...reasons] },
      retry: false,
      expect: [200],
    });
  }

  /**
   * Sets up (does not pay) bonuses: https://docs.prolific.com/api-reference/bonuses/create-bonus-payments
   * `csv_bonuses` lines are `<submission_id>,<amount>` with the amount in the study's currency.
   */
  async setUpBonuses(studyId: string, csvBonuses: string): Promise<BonusSetUp> {
    const route = 'POST /api/v1/submissions/bonus-payments/';
    const r = await this.send({
      method: 'POST',
      route,
      path: '/api/v1/submissions/bonus-payments/',
      body: { study_id: studyId, csv_bonuses: csvBonuses },
      retry: false,
      expect: [200, 201],
    });
    return this.parse(BonusSetUp, route, r.body);
  }

  /**
   * https://docs.prolific.com/api-reference/bonuses/pay-bonus-payments — "This endpoint is not
   * idempotent. Sending multiple requests with the same bulk bonus payment ID will result in
   * participants being paid multiple times." Sent exactly once; the ledger decides when.
   */
  async payBonuses(setupId: string): Promise<void> {
    const route = 'POST /api/v1/bulk-bonus-payments/{id}/pay/';
    await this.send({
      method: 'POST',
      route,
      path: `/api/v1/bulk-bonus-payments/${seg(setupId)}/pay/`,
      retry: false,
      expect: [200, 201, 202, 204],
    });
  }

  /** "you can only have one active secret per workspace at a time": https://docs.prolific.com/api-reference/webhooks/subscribing */
  async createHookSecret(workspaceId: string): Promise<string> {
    const route = 'POST /api/v1/hooks/secrets/';
    const r = await this.send({
      method: 'POST',
      route,
      path: '/api/v1/hooks/secrets/',
      body: { workspace_id: workspaceId },
      retry: false,
      expect: [200, 201],
    });
    return this.parse(HookSecret, route, r.body).value;
  }

  /**
   * Subscribes, then confirms with the X-Hook-Secret the subscription answered with
   * (https://docs.prolific.com/api-reference/webhooks/subscribing).
   */
  async subscribe(workspaceId: string, eventType: string, targetUrl: string): Promise<HookSubscription> {
    const route = 'POST /api/v1/hooks/subscriptions/';
    const created = await this.send({
      method: 'POST',
      route,
      path: '/api/v1/hooks/subscriptions/',
      body: { workspace_id: workspaceId, event_type: eventType, target_url: targetUrl },
      retry: false,
      expect: [200, 201],
    });
    const sub = this.parse(HookSubscription, route, created.body);
    const hookSecret = created.headers.get('x-hook-secret');
    if (!hookSecret) throw new ProlificApiError(route, created.status, 'no X-Hook-Secret header to confirm the subscription with');
    const confirmRoute = 'POST /api/v1/hooks/subscriptions/{id}/';
    const confirmed = await this.send({
      method: 'POST',
      route: confirmRoute,
      path: `/api/v1/hooks/subscriptions/${seg(sub.id)}/`,
      body: { secret: hookSecret },
      retry: false,
      expect: [200],
    });
    return this.parse(HookSubscription, confirmRoute, confirmed.body);
  }
}
