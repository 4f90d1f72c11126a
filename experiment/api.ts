/**
 * Calls to the participant API that are not trial saves (those go through the saving queue).
 * Session-changing calls are retried on network failure, because a participant on a flaky
 * connection must not be stuck at the screening gate or the completion screen.
 */
import type { CompletionResult, ErrorBody, GatePhase, GateResult, PageReport, SessionStartRequest, SessionView } from './contract.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error);
  }
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  const data = (await res.json().catch(() => ({ error: `HTTP ${res.status}`, code: 'http' }))) as T | ErrorBody;
  if (!res.ok) throw new ApiError(res.status, data as ErrorBody);
  return data as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries network errors and 5xx/425/429 with backoff; other answers are final. */
export async function withRetry<T>(call: () => Promise<T>, onWait?: (attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const retriable = !(e instanceof ApiError) || e.status >= 500 || e.status === 425 || e.status === 429;
      if (!retriable) throw e;
      onWait?.(attempt);
      await sleep(Math.min(15_000, 500 * 2 ** Math.min(attempt, 5)));
    }
  }
}

export function startSession(studyId: string, req: SessionStartRequest, onWait?: (attempt: number) => void): Promise<SessionView> {
  return withRetry(() => postJson<SessionView>(`/api/studies/${encodeURIComponent(studyId)}/sessions`, req), onWait);
}

export function askGate(session: string, phase: GatePhase): Promise<GateResult> {
  return withRetry(() => postJson<GateResult>(`/api/sessions/${session}/gates/${phase}`, {}));
}

export function askCompletion(session: string): Promise<CompletionResult> {
  return withRetry(() => postJson<CompletionResult>(`/api/sessions/${session}/complete`, {}));
}

/** The page's automation signs (experiment/automation-signs.ts), once per page load. */
export function sendPageReport(session: string, report: PageReport): Promise<unknown> {
  return withRetry(() => postJson(`/api/sessions/${session}/page-report`, report));
}
