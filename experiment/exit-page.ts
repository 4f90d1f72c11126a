/**
 * The last page of a session, completed or screened out: the code Prolific needs, large and with a
 * Copy button, next to the automatic redirect. Before leaving, the page checks that the exit's
 * host answers at all (a no-cors HEAD of its origin, no cookies, no referrer): a navigation to an
 * unreachable host (offline at that moment, blocked by a filter, DNS down) would replace this page
 * with the browser's error page, and the code with it. When the host does not answer, the page
 * stays, says so, and tries again every little while and whenever the browser comes back online.
 *
 * The code is read from the exit URL (Prolific's completion URL carries it as `cc`); a preview's
 * exit is the dashboard and has none.
 */
import { showPage } from './messages.ts';

export type ExitState = 'waiting' | 'leaving' | 'offline' | 'unreachable';

export interface ExitOptions {
  heading: string;
  paragraphs: string[];
  /** Where the session ends: Prolific with the code, or the dashboard for a preview. */
  url: string;
  redirect: (url: string) => void;
  /** How long the code shows before the browser leaves by itself. */
  delayMs?: number;
  /** Retries while the exit's host does not answer. */
  retryMs?: number;
}

/** The Prolific code in an exit URL, or null (a preview's exit has none). */
export function codeFromExitUrl(url: string, base: string): string | null {
  try {
    return new URL(url, base).searchParams.get('cc');
  } catch {
    return null;
  }
}

const PROBE_TIMEOUT_MS = 10_000;

export function showExit(el: HTMLElement, o: ExitOptions): void {
  const w = el.ownerDocument.defaultView!;
  const target = new URL(o.url, w.location.href);
  const code = codeFromExitUrl(o.url, w.location.href);
  const toProlific = target.origin !== w.location.origin;
  const main = showPage(el, {
    heading: o.heading,
    paragraphs: [
      ...o.paragraphs,
      ...(code ? ['If Prolific does not open by itself, copy this code and enter it on Prolific, or use the button below.'] : []),
    ],
    code: code ? { label: 'Your code for Prolific', value: code } : undefined,
    status: toProlific ? 'Taking you back to Prolific…' : 'Taking you back…',
    link: { href: target.href, label: toProlific ? 'Return to Prolific' : 'Back to the dashboard' },
  });
  main.dataset.exitUrl = target.href;
  const status = main.querySelector<HTMLElement>('.metamer-status')!;
  const setState = (state: ExitState, text: string) => {
    main.dataset.exitState = state;
    status.textContent = text;
  };
  setState('waiting', status.textContent ?? '');

  let retry: ReturnType<typeof setTimeout> | undefined;
  let left = false;
  const go = () => {
    left = true;
    o.redirect(target.href);
  };
  const leave = async (): Promise<void> => {
    clearTimeout(retry);
    if (left) return;
    if (!toProlific) return go();
    if (w.navigator.onLine === false) {
      setState(
        'offline',
        'You seem to be offline. Your answers are saved: this page goes on to Prolific by itself when the connection is back, ' +
          'or enter your code on Prolific.',
      );
      return;
    }
    if (await answers(w, target.origin)) {
      if (left) return;
      setState('leaving', 'Taking you back to Prolific…');
      return go();
    }
    setState(
      'unreachable',
      'Prolific cannot be reached from here at the moment. Your answers are saved: copy your code and enter it on Prolific, ' +
        'or keep this page open and it goes on by itself.',
    );
    retry = setTimeout(() => void leave(), o.retryMs ?? 15_000);
  };
  w.addEventListener('online', () => void leave());
  setTimeout(() => void leave(), o.delayMs ?? 1500);
}

/**
 * True when `origin` answers an HTTP request (any status). A request the page's own
 * Content-Security-Policy blocks says nothing about the host, so it counts as answering: the page
 * then navigates as it always did.
 */
async function answers(w: Window, origin: string): Promise<boolean> {
  let blockedByPolicy = false;
  const onViolation = (e: SecurityPolicyViolationEvent) => {
    if (e.blockedURI.startsWith(origin)) blockedByPolicy = true;
  };
  w.document.addEventListener('securitypolicyviolation', onViolation);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), PROBE_TIMEOUT_MS);
  try {
    const init: RequestInit = { method: 'HEAD', mode: 'no-cors', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };
    await w.fetch(`${origin}/`, { ...init, signal: abort.signal });
    return true;
  } catch {
    // The violation event is queued as a task: let it arrive before deciding.
    await new Promise((r) => setTimeout(r, 0));
    return blockedByPolicy;
  } finally {
    clearTimeout(timer);
    w.document.removeEventListener('securitypolicyviolation', onViolation);
  }
}
