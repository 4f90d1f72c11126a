/**
 * Pseudonymous participant ids (docs/design.md §7): a keyed hash of the Prolific ID. The key lives outside
 * the database (env METAMER_PARTICIPANT_KEY, or a file beside it created on first use), so a
 * leaked database or export cannot be joined back to Prolific accounts by hashing known IDs.
 *
 * Several instances on one PostgreSQL database must hash with the same key (docs/deploying.md:
 * the same METAMER_PARTICIPANT_KEY everywhere, or one shared data folder). The database keeps a
 * fingerprint of the first key (an HMAC of a fixed text: useless for finding the key), and an
 * instance with another key refuses to start instead of giving people a second pseudonym.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { userError } from './http-error.ts';
import type { Store } from './store/store.ts';

/** Secrets shorter than this could be found by trying keys against a known input and its output. */
export const MIN_KEY_BYTES = 32;

/**
 * A secret of the deployment: from the environment variable `envName`, else the file (made with 32
 * random bytes on first use). A short one is refused at start, from either place: an empty file
 * (a full disk, a bad copy) would otherwise key everything with nothing.
 */
export function loadSecretKey(keyFile: string, envName: string): Buffer {
  const fromEnv = process.env[envName];
  if (fromEnv) {
    if (fromEnv.length < MIN_KEY_BYTES) {
      throw userError(`${envName} must be at least ${MIN_KEY_BYTES} characters (e.g. \`openssl rand -hex 32\`)`);
    }
    return Buffer.from(fromEnv, 'utf8');
  }
  const checked = (key: Buffer): Buffer => {
    if (key.length < MIN_KEY_BYTES) {
      throw userError(
        `${keyFile}: the key file holds ${key.length} bytes; it needs at least ${MIN_KEY_BYTES} (restore it from a backup, or set ${envName})`,
      );
    }
    return key;
  };
  try {
    return checked(fs.readFileSync(keyFile));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(path.dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  try {
    // wx: if another process created it meanwhile, use theirs.
    fs.writeFileSync(keyFile, key, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return checked(fs.readFileSync(keyFile));
    throw e;
  }
}

export function loadParticipantKey(keyFile: string): Buffer {
  return loadSecretKey(keyFile, 'METAMER_PARTICIPANT_KEY');
}

/** Stable per (key, study, PID); 80 bits is plenty against collisions within a study. */
export function participantId(key: Buffer, studyId: string, prolificPid: string): string {
  return 'p' + createHmac('sha256', key).update(`${studyId}\u0000${prolificPid}`).digest('hex').slice(0, 20);
}

export function participantKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('metamer participant-id key check').digest('hex');
}

/** Refuses to serve with a key other than the one the database's first instance used. */
export async function checkSharedParticipantKey(store: Store, key: Buffer): Promise<void> {
  if (await store.checkParticipantKey(participantKeyFingerprint(key))) return;
  throw userError(
    `this participant-id key is not the one ${store.description} was first served with: set METAMER_PARTICIPANT_KEY ` +
      'to the same value on every instance (docs/deploying.md)',
  );
}
