/**
 * A session's quality flags as the dashboard shows them (sessions table, payments page): each flag
 * as a label with its reason written out, so an experimenter deciding on Prolific reads the
 * evidence, not just that something was flagged (docs/integrity.md).
 */
import type { QualityCode, QualityFlag } from '../../analysis/quality-flags.ts';
import { html, type SafeHtml } from './html.ts';

export const FLAG_LABEL: Record<QualityCode, string> = {
  pacing: 'Pacing',
  timing_mismatch: 'Timing mismatch',
  exceptionally_fast: 'Exceptionally fast',
  fast_responses: 'Fast responses',
  stereotyped: 'Same answer',
  automation: 'Automation signs',
  missing_measurements: 'No page measurements',
  page_hidden: 'Page hidden',
  left_fullscreen: 'Left full screen',
  presentation: 'Presentation',
};

export function flagList(flags: readonly QualityFlag[] | undefined): SafeHtml {
  if (!flags || flags.length === 0) return html`<span class="muted" data-flags="none">—</span>`;
  const items = flags.map(
    (f) => html`<li><span class="badge badge-flag" data-flag="${f.code}">${FLAG_LABEL[f.code]}</span>
  <span class="flag-reason">${f.reason}</span></li>`,
  );
  return html`<ul class="flags" data-flags="${flags.map((f) => f.code).join(' ')}">${items}</ul>`;
}
