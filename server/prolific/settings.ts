/**
 * The Prolific settings, all from the environment (docs/prolific.md). None is needed to run the
 * platform: without PROLIFIC_API_TOKEN everything works as before and the Prolific commands say
 * what to set. The token is read from the environment each time and never written anywhere.
 */
import { userError } from '../http-error.ts';

export const TOKEN_ENV = 'PROLIFIC_API_TOKEN';
export const API_URL_ENV = 'PROLIFIC_API_URL';
export const WEBHOOK_SECRET_ENV = 'PROLIFIC_WEBHOOK_SECRET';

/** https://docs.prolific.com/api-reference/introduction: every path below starts with /api/v1/. */
export const DEFAULT_API_URL = 'https://api.prolific.com';

export function prolificToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env[TOKEN_ENV]?.trim();
  return token ? token : undefined;
}

export function requireProlificToken(env: NodeJS.ProcessEnv = process.env): string {
  const token = prolificToken(env);
  if (!token)
    throw userError(`set ${TOKEN_ENV} to a Prolific API token (app.prolific.com → Settings → API token) to use this; see docs/prolific.md`);
  return token;
}

/** The API's origin; a local stand-in in tests (no test reaches Prolific). */
export function prolificApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env[API_URL_ENV]?.trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw userError(`${API_URL_ENV}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw userError(`${API_URL_ENV}: "${raw}" is not an http(s) URL`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

export function webhookSecret(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const secret = env[WEBHOOK_SECRET_ENV]?.trim();
  return secret ? secret : undefined;
}
