/**
 * The participant page checks that the exit's host (Prolific) answers before it leaves, so that an
 * unreachable host never replaces the page that shows the completion code (experiment/exit-page.ts).
 * That check is a fetch, which the page's Content-Security-Policy allows only to its own origin:
 * this widens `connect-src` by the study's exit origin, for that study's run page only.
 */
import type { Response } from 'express';

export function allowExitProbe(res: Response, exitUrl: string): void {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp !== 'string') return;
  let origin: string;
  try {
    origin = new URL(exitUrl).origin;
  } catch {
    return;
  }
  if (origin === 'null' || /[\s;,]/.test(origin)) return;
  res.setHeader(
    'Content-Security-Policy',
    csp.replace(/(^|;)(\s*connect-src)([^;]*)/, (_m, sep: string, name: string, sources: string) => `${sep}${name}${sources} ${origin}`),
  );
}
