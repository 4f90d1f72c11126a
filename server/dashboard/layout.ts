/**
 * The dashboard's page shell and the small pieces every page uses: status badges, progress bars,
 * flash messages. Assets come from /admin/assets/ (same origin, content-hashed).
 */
import type { SessionState } from '../../experiment/contract.ts';
import type { StudyStatus } from '../study-config.ts';
import type { DashboardBundle } from './bundle.ts';
import { percent } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { FAVICON_PATH } from '../favicon.ts';

export const ADMIN_ASSETS = '/admin/assets/';

export interface PageOptions {
  title: string;
  bundle: DashboardBundle;
  body: SafeHtml;
  /** Which navigation entry is current; none on the log-in page. */
  nav?: 'studies' | 'new';
  loggedIn: boolean;
}

export function page(o: PageOptions): string {
  const nav = o.loggedIn
    ? html`<nav class="topnav" aria-label="Main">
        <a href="/admin"${o.nav === 'studies' ? html` aria-current="page"` : ''}>Studies</a>
        <a href="/admin/studies/new"${o.nav === 'new' ? html` aria-current="page"` : ''}>New study</a>
      </nav>
      <form method="post" action="/admin/logout" class="logout"><button type="submit" class="btn btn-ghost btn-small">Log out</button></form>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${o.title} · Metamer dashboard</title>
<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
<link rel="stylesheet" href="${ADMIN_ASSETS + o.bundle.css.name}">
</head>
<body class="admin">
<header class="topbar"><div class="wrap topbar-inner">
  <a class="brand" href="/admin"><span class="brand-mark" aria-hidden="true"></span>Metamer <span class="brand-sub">experimenter</span></a>
  ${nav}
</div></header>
<main class="wrap">
${o.body}
</main>
<script src="${ADMIN_ASSETS + o.bundle.js.name}" defer></script>
</body>
</html>
`.value;
}

const STATUS_LABEL: Record<StudyStatus, string> = { draft: 'Draft', live: 'Live', paused: 'Paused', closed: 'Closed' };

export function statusBadge(status: StudyStatus): SafeHtml {
  return html`<span class="badge badge-${status}" data-status="${status}">${STATUS_LABEL[status]}</span>`;
}

const STATE_LABEL: Record<SessionState, string> = {
  started: 'In progress',
  completed: 'Completed',
  screened_out: 'Screened out',
  abandoned: 'Abandoned',
};

export function sessionBadge(state: SessionState): SafeHtml {
  return html`<span class="badge badge-session-${state}">${STATE_LABEL[state]}</span>`;
}

export function progressBar(value: number, max: number, label: string, tone: 'accent' | 'good' | 'muted' = 'accent'): SafeHtml {
  // <progress> needs max > 0; an empty plan shows an empty bar.
  return html`<progress class="bar bar-${tone}" max="${Math.max(1, max)}" value="${Math.min(value, Math.max(1, max))}" aria-label="${label}">${percent(value, max)}%</progress>`;
}

export function flash(kind: 'ok' | 'error' | 'info', text: string | SafeHtml): SafeHtml {
  return html`<div class="flash flash-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</div>`;
}
