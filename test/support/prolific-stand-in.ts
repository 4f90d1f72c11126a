/**
 * A STAND-IN for the Prolific API, on 127.0.0.1: no test reaches Prolific itself. It is written
 * from Prolific's published reference (docs.prolific.com/api-reference; the page of each endpoint
 * is named at its handler), independently of the platform's client, and it checks every request
 * against that reference: method, path (with its trailing slash), query parameters, the
 * `Authorization: Token …` header, the JSON content type and the body's fields. Anything the
 * reference does not document is answered 4xx and recorded in `violations`; tests assert that
 * list is empty.
 *
 * It also plays Prolific's side of webhooks (`deliver`: signed as the reference's "Verifying"
 * page describes) and can hang on a request (answer never), to interrupt a client for real.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { postJson } from './test-server.ts';

export const STAND_IN_TOKEN = 'stand-in-token-0123456789abcdef';

export interface StandInSubmission {
  id: string;
  study_id: string;
  participant_id: string;
  status: string;
  started_at: string;
  completed_at: string | null;
  /** Paid bonuses, in pence / cents, as GET /submissions/{id}/ lists them. */
  bonus_payments: number[];
  return_requested: string | null;
}

export interface StandInSetUp {
  id: string;
  study_id: string;
  lines: { id: string; cents: number }[];
}

/** Where the stand-in stops answering (the request is held open until `close`). */
export type Hang = 'setup-after-creating' | 'pay-before-paying' | 'pay-after-paying';

const id24 = () => randomBytes(12).toString('hex');

/**
 * Prolific's rejection categories (transition-submission). Copied from the reference, not imported
 * from the client: the stand-in must refuse a category the client got wrong.
 */
const REJECTION_CATEGORIES = [
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
];

// Request bodies as the reference documents them; strict: an undocumented field is a violation.
const TransitionBody = z.strictObject({
  action: z.enum(['APPROVE', 'REJECT', 'COMPLETE', 'SCREEN_OUT', 'START', 'RETURN', 'UNREJECT', 'UNRETURN']),
  message: z.string().optional(),
  rejection_category: z.string().optional(),
  completion_code: z.string().optional(),
});
const ReturnBody = z.strictObject({ request_return_reasons: z.array(z.string().min(1)).min(1) });
const BonusSetUpBody = z.strictObject({ study_id: z.string().min(1), csv_bonuses: z.string().min(1) });
const SecretBody = z.strictObject({ workspace_id: z.string().min(1) });
const SubscriptionBody = z.strictObject({ workspace_id: z.string().min(1), event_type: z.string().min(1), target_url: z.string().min(1) });
const ConfirmBody = z.strictObject({ secret: z.string().min(1) });

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** A request the reference does not allow: the client under test is wrong. */
    readonly violation: boolean,
  ) {
    super(detail);
  }
}

export class ProlificStandIn {
  url = '';
  readonly violations: string[] = [];
  readonly requests: { method: string; path: string }[] = [];
  readonly studies = new Map<
    string,
    { id: string; name: string; status: string; completion_codes: { code: string; code_type: string }[] }
  >();
  readonly submissions = new Map<string, StandInSubmission>();
  readonly setUps = new Map<string, StandInSetUp>();
  /** Every pay call received, by set-up id (the reference: each one pays). */
  readonly payCalls: string[] = [];
  readonly hooks = new Map<
    string,
    { workspace_id: string; event_type: string; target_url: string; confirmed: boolean; hookSecret: string }
  >();
  readonly secrets = new Map<string, string>();
  hang: Hang | null = null;
  /** Payments are asynchronous on Prolific: while false, paid bonuses are not listed yet. */
  paymentsVisible = true;
  private readonly pendingPayments: { submission: string; cents: number }[] = [];
  private readonly held = new Set<http.ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;

  static async start(): Promise<ProlificStandIn> {
    const s = new ProlificStandIn();
    s.server = http.createServer((req, res) => void s.handle(req, res));
    s.server.on('connection', (sock) => {
      s.sockets.add(sock);
      sock.on('close', () => s.sockets.delete(sock));
    });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  async close(): Promise<void> {
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addStudy(codes: { code: string; code_type: string }[], name = 'Stand-in study'): string {
    const id = id24();
    this.studies.set(id, { id, name, status: 'ACTIVE', completion_codes: codes });
    return id;
  }

  /** A participant takes a place: Prolific creates the submission (its id is the URL's SESSION_ID). */
  addSubmission(studyId: string, participantId: string, status = 'ACTIVE'): StandInSubmission {
    const s: StandInSubmission = {
      id: id24(),
      study_id: studyId,
      participant_id: participantId,
      status,
      started_at: new Date().toISOString(),
      completed_at: null,
      bonus_payments: [],
      return_requested: null,
    };
    this.submissions.set(s.id, s);
    return s;
  }

  setStatus(submissionId: string, status: string): void {
    const s = this.submissions.get(submissionId)!;
    s.status = status;
    if (status === 'AWAITING REVIEW') s.completed_at = new Date().toISOString();
  }

  settlePayments(): void {
    for (const p of this.pendingPayments.splice(0)) this.submissions.get(p.submission)!.bonus_payments.push(p.cents);
  }

  /** Total bonus paid to a submission, in cents (visible or not yet). */
  paidCents(submissionId: string): number {
    const visible = this.submissions.get(submissionId)!.bonus_payments.reduce((a, b) => a + b, 0);
    return visible + this.pendingPayments.filter((p) => p.submission === submissionId).reduce((a, p) => a + p.cents, 0);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    this.requests.push({ method: req.method ?? '', path: url.pathname });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    try {
      // Every endpoint: "Header authentication of the form Token <token>".
      if (req.headers.authorization !== `Token ${STAND_IN_TOKEN}`)
        throw new Refused(401, 'Invalid token.', req.headers.authorization === undefined);
      const out = await this.route(req.method ?? '', url, raw, req.headers['content-type']);
      if (out === 'hang') {
        this.held.add(res);
        return;
      }
      res.writeHead(out.status, { 'Content-Type': 'application/json', ...(out.headers ?? {}) });
      res.end(out.body === undefined ? '' : JSON.stringify(out.body));
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      if (e.violation) this.violations.push(`${req.method} ${url.pathname}${url.search}: ${e.detail}`);
      res.writeHead(e.status, { 'Content-Type': 'application/json' });
      // The error shape of Prolific's API (prolific-oss/cli's JSONAPIError).
      res.end(JSON.stringify({ error: { status: e.status, title: e.status === 404 ? 'Not Found' : 'Bad Request', detail: e.detail } }));
    }
  }

  private json<T extends z.ZodType>(schema: T, raw: string, contentType: string | undefined): z.infer<T> {
    if (!/^application\/json\b/.test(contentType ?? ''))
      throw new Refused(415, `Content-Type must be application/json, not ${contentType}`, true);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Refused(400, 'body is not JSON', true);
    }
    const r = schema.safeParse(value);
    if (!r.success) throw new Refused(400, r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), true);
    return r.data;
  }

  private noQuery(url: URL): void {
    if ([...url.searchParams.keys()].length > 0) throw new Refused(400, `undocumented query ${url.search}`, true);
  }

  private submissionBody(s: StandInSubmission) {
    // GET /api/v1/submissions/{id}/: https://docs.prolific.com/api-reference/submissions/get-submission
    return {
      id: s.id,
      study_id: s.study_id,
      participant: s.participant_id,
      status: s.status,
      started_at: s.started_at,
      completed_at: s.completed_at,
      entered_code: null,
      bonus_payments: s.bonus_payments,
      return_requested: s.return_requested,
    };
  }

  private async route(
    method: string,
    url: URL,
    raw: string,
    contentType: string | undefined,
  ): Promise<{ status: number; body?: unknown; headers?: Record<string, string> } | 'hang'> {
    const p = url.pathname;
    let m: RegExpExecArray | null;

    // https://docs.prolific.com/api-reference/studies/get-study
    if ((m = /^\/api\/v1\/studies\/([^/]+)\/$/.exec(p))) {
      if (method !== 'GET') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      const study = this.studies.get(decodeURIComponent(m[1]!));
      if (!study) throw new Refused(404, 'Not found.', false);
      return { status: 200, body: { ...study, internal_name: study.name } };
    }

    // https://docs.prolific.com/api-reference/submissions/get-submissions ("Paginate by page_size and page")
    if (p === '/api/v1/submissions/') {
      if (method !== 'GET') throw new Refused(405, `${method} is not documented here`, true);
      const allowed = new Set(['study', 'status', 'page', 'page_size', 'completed', 'returned', 'awaiting_review', 'approved']);
      for (const k of url.searchParams.keys()) if (!allowed.has(k)) throw new Refused(400, `undocumented query parameter ${k}`, true);
      const page = Number(url.searchParams.get('page') ?? '1');
      const size = Number(url.searchParams.get('page_size') ?? '20');
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(size) || size < 1)
        throw new Refused(400, 'page and page_size are positive integers', true);
      const study = url.searchParams.get('study');
      const all = [...this.submissions.values()].filter((s) => !study || s.study_id === study);
      const slice = all.slice((page - 1) * size, page * size);
      const more = page * size < all.length;
      return {
        status: 200,
        body: {
          results: slice.map((s) => ({
            id: s.id,
            participant_id: s.participant_id,
            study_id: s.study_id,
            status: s.status,
            started_at: s.started_at,
            completed_at: s.completed_at,
          })),
          _links: {
            next: { href: more ? `${this.url}${p}?study=${study ?? ''}&page=${page + 1}&page_size=${size}` : null, title: 'Next' },
          },
          meta: { count: all.length },
        },
      };
    }

    // https://docs.prolific.com/api-reference/submissions/get-submission
    if ((m = /^\/api\/v1\/submissions\/([^/]+)\/$/.exec(p)) && m[1] !== 'bonus-payments') {
      if (method !== 'GET') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      const s = this.submissions.get(decodeURIComponent(m[1]!));
      if (!s) throw new Refused(404, 'Not found.', false);
      return { status: 200, body: this.submissionBody(s) };
    }

    // https://docs.prolific.com/api-reference/submissions/transition-submission
    if ((m = /^\/api\/v1\/submissions\/([^/]+)\/transition\/$/.exec(p))) {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      const body = this.json(TransitionBody, raw, contentType);
      const s = this.submissions.get(decodeURIComponent(m[1]!));
      if (!s) throw new Refused(404, 'Not found.', false);
      if (body.action === 'REJECT') {
        // "Required if action is 'REJECT' … at least 100 chars long"; the category likewise.
        if (!body.message || body.message.length < 100) throw new Refused(400, 'message: at least 100 characters', true);
        if (!body.rejection_category || !REJECTION_CATEGORIES.includes(body.rejection_category))
          throw new Refused(400, 'rejection_category: required', true);
      }
      const target = body.action === 'APPROVE' ? 'APPROVED' : body.action === 'REJECT' ? 'REJECTED' : null;
      if (!target) throw new Refused(400, `action ${body.action} is not one this platform uses`, true);
      // "this endpoint is idempotent … the second request will be ignored".
      if (s.status === target) return { status: 200, body: this.submissionBody(s) };
      if (s.status !== 'AWAITING REVIEW') throw new Refused(400, `Cannot transition a submission in status ${s.status}`, false);
      s.status = target;
      return { status: 200, body: this.submissionBody(s) };
    }

    // https://docs.prolific.com/api-reference/submissions/request-submission-return
    if ((m = /^\/api\/v1\/submissions\/([^/]+)\/request-return\/$/.exec(p))) {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      this.json(ReturnBody, raw, contentType);
      const s = this.submissions.get(decodeURIComponent(m[1]!));
      if (!s) throw new Refused(404, 'Not found.', false);
      s.return_requested = new Date().toISOString();
      return { status: 200, body: { id: s.id, status: s.status, participant: s.participant_id, return_requested: s.return_requested } };
    }

    // https://docs.prolific.com/api-reference/bonuses/create-bonus-payments
    if (p === '/api/v1/submissions/bonus-payments/') {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      const body = this.json(BonusSetUpBody, raw, contentType);
      if (!this.studies.has(body.study_id)) throw new Refused(404, 'Study not found.', true);
      // "`<participant_id>,<amount>\n` or `<submission_id>,<amount>\n` … amount … a decimal value".
      const lines: StandInSetUp['lines'] = [];
      const wrong: string[] = [];
      for (const line of body.csv_bonuses.split('\n').filter((l) => l !== '')) {
        const lm = /^([^,\s]+),(\d+(?:\.\d{1,2})?)$/.exec(line);
        if (!lm) throw new Refused(400, `csv_bonuses: malformed line "${line}"`, true);
        const sub = [...this.submissions.values()].find(
          (s) => s.study_id === body.study_id && (s.id === lm[1] || s.participant_id === lm[1]),
        );
        if (!sub) wrong.push(lm[1]!);
        else lines.push({ id: sub.id, cents: Math.round(Number(lm[2]) * 100) });
      }
      // "If not, you will get a "400" HTTP response back, which explains which IDs are incorrect."
      if (wrong.length > 0) throw new Refused(400, `These IDs did not take part in the study: ${wrong.join(', ')}`, false);
      const setUp: StandInSetUp = { id: id24(), study_id: body.study_id, lines };
      this.setUps.set(setUp.id, setUp);
      if (this.hang === 'setup-after-creating') return 'hang';
      const amount = lines.reduce((a, l) => a + l.cents, 0);
      return {
        status: 201,
        body: {
          id: setUp.id,
          study: body.study_id,
          amount,
          fees: Math.round(amount * 0.33),
          vat: 0,
          total_amount: Math.round(amount * 1.33),
        },
      };
    }

    // https://docs.prolific.com/api-reference/bonuses/pay-bonus-payments ("not idempotent")
    if ((m = /^\/api\/v1\/bulk-bonus-payments\/([^/]+)\/pay\/$/.exec(p))) {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      this.noQuery(url);
      if (raw !== '') throw new Refused(400, 'the pay call takes no body', true);
      const setUp = this.setUps.get(decodeURIComponent(m[1]!));
      if (!setUp) throw new Refused(404, 'Not found.', false);
      if (this.hang === 'pay-before-paying') return 'hang';
      this.payCalls.push(setUp.id);
      for (const l of setUp.lines) {
        if (this.paymentsVisible) this.submissions.get(l.id)!.bonus_payments.push(l.cents);
        else this.pendingPayments.push({ submission: l.id, cents: l.cents });
      }
      if (this.hang === 'pay-after-paying') return 'hang';
      return { status: 202, body: { message: 'Bonus payments are being processed' } };
    }

    // https://docs.prolific.com/api-reference/webhooks/subscribing
    if (p === '/api/v1/hooks/secrets/') {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      const body = this.json(SecretBody, raw, contentType);
      // "you can only have one active secret per workspace at a time".
      const value = randomBytes(24).toString('base64url');
      this.secrets.set(body.workspace_id, value);
      return { status: 201, body: { id: id24(), value, workspace_id: body.workspace_id } };
    }
    if (p === '/api/v1/hooks/subscriptions/') {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented here`, true);
      const body = this.json(SubscriptionBody, raw, contentType);
      // "<target_url> must be use https:// and be publicly accessible".
      if (!body.target_url.startsWith('https://')) throw new Refused(400, 'target_url must use https://', false);
      const hookId = id24();
      const hookSecret = randomBytes(16).toString('hex');
      this.hooks.set(hookId, { ...body, confirmed: false, hookSecret });
      return { status: 201, body: { id: hookId, ...body, is_enabled: false }, headers: { 'X-Hook-Secret': hookSecret } };
    }
    if ((m = /^\/api\/v1\/hooks\/subscriptions\/([^/]+)\/$/.exec(p))) {
      if (method !== 'POST') throw new Refused(405, `${method} is not documented by this stand-in`, true);
      const body = this.json(ConfirmBody, raw, contentType);
      const hook = this.hooks.get(decodeURIComponent(m[1]!));
      if (!hook) throw new Refused(404, 'Not found.', false);
      if (body.secret !== hook.hookSecret) throw new Refused(400, 'secret does not match X-Hook-Secret', true);
      hook.confirmed = true;
      return {
        status: 200,
        body: { id: m[1], workspace_id: hook.workspace_id, event_type: hook.event_type, target_url: hook.target_url, is_enabled: true },
      };
    }

    throw new Refused(404, `no such endpoint in the reference: ${method} ${p}`, true);
  }

  /**
   * Delivers a webhook as Prolific does (https://docs.prolific.com/api-reference/webhooks/receiving
   * and …/verifying): JSON body, `X-Prolific-Request-Timestamp` (UNIX seconds),
   * `X-Prolific-Request-Signature` = base64(HMAC-SHA256(secret, timestamp + body)), `X-Event-ID`
   * (the same on retries), `X-Timestamp` (when the event was sent). The body is Python's
   * `json.dumps` of the payload, as in the reference's example; `compactBody` sends it without
   * spaces while signing the `json.dumps` form.
   */
  static async deliver(
    targetUrl: string,
    secret: string,
    payload: Record<string, string>,
    o: { eventId?: string; timestamp?: number; eventTimestamp?: number; signature?: string | null; compactBody?: boolean } = {},
  ): ReturnType<typeof postJson> {
    const dumps =
      '{' +
      Object.entries(payload)
        .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
        .join(', ') +
      '}';
    const body = o.compactBody ? JSON.stringify(payload) : dumps;
    const timestamp = String(o.timestamp ?? Math.floor(Date.now() / 1000));
    const signature =
      o.signature === undefined
        ? createHmac('sha256', secret)
            .update(timestamp + dumps)
            .digest('base64')
        : o.signature;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-Prolific-Request-Timestamp': timestamp,
      'X-Event-ID': o.eventId ?? id24(),
      'X-Timestamp': String(o.eventTimestamp ?? Number(timestamp)),
    };
    if (signature !== null) headers['X-Prolific-Request-Signature'] = signature;
    return postJson(targetUrl, body, { headers });
  }
}
