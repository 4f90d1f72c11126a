/**
 * The experimenter's admin token: `METAMER_ADMIN_TOKEN`, or a random one generated on first start
 * and kept in a file beside the database (like the participant-id key), readable by its owner
 * only. The server prints a new token once; `metamer admin token` shows or rotates it.
 *
 * The token is read again at every log-in attempt, so `metamer admin token --rotate` takes effect
 * on a running server without a restart.
 *
 * Several instances (docs/deploying.md) share it: the same METAMER_ADMIN_TOKEN everywhere, or one
 * data folder; the log-ins it opens are rows in the database, valid on every instance.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { userError } from './http-error.ts';

export const ADMIN_TOKEN_ENV = 'METAMER_ADMIN_TOKEN';
export const ADMIN_TOKEN_FILE_NAME = 'admin-token';
/** Log-ins are rate-limited, but a short token falls to a patient guesser anyway. */
export const MIN_TOKEN_LENGTH = 16;

export interface AdminTokenSource {
  token: string;
  origin: 'env' | 'file';
  /** The file it was read from or written to (origin `file`). */
  file?: string;
  /** True when this call generated it: the caller shows it, once. */
  created: boolean;
}

export function adminTokenFileFor(dbFile: string): string {
  return path.join(path.dirname(path.resolve(dbFile)), ADMIN_TOKEN_FILE_NAME);
}

export function newAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

function checked(token: string, where: string): string {
  if (token.length < MIN_TOKEN_LENGTH) throw userError(`${where}: the admin token must be at least ${MIN_TOKEN_LENGTH} characters long`);
  if (/\s/.test(token)) throw userError(`${where}: the admin token must not contain spaces`);
  return token;
}

function readTokenFile(file: string): string | undefined {
  try {
    return checked(fs.readFileSync(file, 'utf8').trim(), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The token in force: from the environment, else the file, else a new one written to the file. */
export function loadAdminToken(file: string, env: NodeJS.ProcessEnv = process.env): AdminTokenSource {
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { token: checked(fromEnv, ADMIN_TOKEN_ENV), origin: 'env', created: false };
  const existing = readTokenFile(file);
  if (existing) return { token: existing, origin: 'file', file, created: false };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = newAdminToken();
  try {
    // wx: a second process starting at the same moment keeps the first one's token.
    fs.writeFileSync(file, token + '\n', { flag: 'wx', mode: 0o600 });
    return { token, origin: 'file', file, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { token: readTokenFile(file)!, origin: 'file', file, created: false };
  }
}

/** Writes a fresh token to the file (atomically). Refused when the environment sets the token. */
export function rotateAdminToken(file: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env[ADMIN_TOKEN_ENV]) throw userError(`the admin token comes from ${ADMIN_TOKEN_ENV}; change it there and restart the server`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const token = newAdminToken();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, token + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return token;
}

/**
 * Constant-time comparison. Both sides are hashed first, so the comparison takes the same time
 * whatever the lengths and wherever the first differing character is.
 */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
