/**
 * POST /api/sessions/:session/page-report: the participant page's report of automation signs
 * (experiment/automation-signs.ts), once per page load, stored with the User-Agent header the server
 * saw. A session that completes without any report is itself evidence: only the study's page sends
 * one (server/session-quality.ts turns both into quality flags).
 */
import { PageReport } from '../experiment/contract.ts';
import { canonicalJson } from './canonical-json.ts';
import { HttpError } from './http-error.ts';
import { PAGE_REPORTS_PER_SESSION, type Store } from './store/store.ts';

export async function recordPageReport(
  store: Store,
  sessionId: string,
  body: unknown,
  userAgent: string | undefined,
): Promise<{ stored: 'created' }> {
  const parsed = PageReport.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, 'invalid_page_report', `page report: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  if (!(await store.getSession(sessionId))) throw new HttpError(404, 'no_session', 'Unknown session.');
  const outcome = await store.savePageReport({
    session_id: sessionId,
    report: canonicalJson(parsed.data),
    user_agent: userAgent ?? null,
    received_at: Date.now(),
  });
  if (outcome === 'limit') {
    throw new HttpError(409, 'report_limit', `this session already has ${PAGE_REPORTS_PER_SESSION} page reports; no more are kept`);
  }
  return { stored: 'created' };
}
