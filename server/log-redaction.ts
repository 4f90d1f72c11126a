/**
 * Session ids are bearer tokens (whoever holds one can post that session's trials), and they sit
 * in participant API paths: no log line may carry one.
 */
const SESSION_IN_PATH = /(\/api\/sessions\/)[^/?#]+/g;

/** The path with every session token replaced by `:session`, and no query string (it holds Prolific IDs). */
export function redactPath(path: string): string {
  return path.replace(/[?#].*$/, '').replace(SESSION_IN_PATH, '$1:session');
}
