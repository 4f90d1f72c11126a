/**
 * Keyed stimulus names: what a participant's browser sees instead of a file's content hash.
 *
 * Files are stored once, by sha256 (stimuli/blob-store.ts). Served under that hash, the URL of a
 * stimulus from a public set (the demo's files are in this repository; published metamer sets are
 * downloadable) could be looked up by hashing the public copy. So every URL carries the hash
 * encrypted with a secret of the deployment: AES-256 in CBC mode with a zero IV over the 32 bytes
 * of the hash, which is a deterministic, invertible permutation of them. Deterministic, so a file
 * keeps one URL (browsers and CDNs cache it forever); invertible, so the server needs no table to
 * find the file behind a name (a set imported by the CLI under a running server is servable at
 * once); and without the key, no name can be computed from a file or a file found from a name.
 *
 * The headphone check's sounds are made per session (server/headphone-stimuli.ts); their names are
 * one AES block holding the sound's parameters (test, answer, level, noise and phase seed), so the
 * server rebuilds a sound from its name alone and never stores it.
 *
 * The key: `METAMER_STIMULUS_KEY` (at least 32 characters), else a file beside the database
 * (`stimulus-url.key`, 32 random bytes, made on first use), like the participant-id key. Changing
 * it changes every URL: a static export must then be written again.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { loadSecretKey } from './participant-id.ts';

export const STIMULUS_KEY_ENV = 'METAMER_STIMULUS_KEY';
export const STIMULUS_KEY_FILE_NAME = 'stimulus-url.key';

const ZERO_IV = Buffer.alloc(16);

export function loadStimulusKey(keyFile: string): Buffer {
  return loadSecretKey(keyFile, STIMULUS_KEY_ENV);
}

/** What a keyed name stands for: a stored blob, or a generated headphone sound's parameters. */
export type KeyedName = { kind: 'blob'; sha256: string; ext: string } | { kind: 'generated'; params: Buffer };

const BLOB_NAME = /^([0-9a-f]{64})\.(png|jpg|wav)$/;
const GENERATED_NAME = /^([0-9a-f]{32})\.wav$/;

export class StimulusKeys {
  private readonly blobKey: Buffer;
  private readonly soundKey: Buffer;
  /** Names are asked for on every session view: a few hundred per session, each a cipher call. */
  private readonly names = new Map<string, string>();

  constructor(secret: Buffer) {
    // Separate keys per use (HMAC as a key-derivation function), so one kind of name never decrypts as the other.
    this.blobKey = createHmac('sha256', secret).update('metamer stimulus names v1').digest();
    this.soundKey = createHmac('sha256', secret).update('metamer generated sounds v1').digest();
  }

  /** `<sha256>.<ext>` → `<64 hex>.<ext>`, the name participants see. */
  publicName(file: string): string {
    const hit = this.names.get(file);
    if (hit) return hit;
    const m = BLOB_NAME.exec(file);
    if (!m) throw new Error(`not a stored stimulus name: ${file}`);
    const c = createCipheriv('aes-256-cbc', this.blobKey, ZERO_IV).setAutoPadding(false);
    const name = `${Buffer.concat([c.update(Buffer.from(m[1]!, 'hex')), c.final()]).toString('hex')}.${m[2]}`;
    if (this.names.size >= 50_000) this.names.clear();
    this.names.set(file, name);
    return name;
  }

  /** The name of a generated sound from its 16 bytes of parameters. */
  generatedName(params: Buffer): string {
    if (params.length !== 16) throw new Error('generated sound parameters are one 16-byte block');
    const c = createCipheriv('aes-256-ecb', this.soundKey, null).setAutoPadding(false);
    return `${Buffer.concat([c.update(params), c.final()]).toString('hex')}.wav`;
  }

  /** What a name from a URL stands for, or null for anything this server never issued the form of. */
  resolve(name: string): KeyedName | null {
    let m = BLOB_NAME.exec(name);
    if (m) {
      const d = createDecipheriv('aes-256-cbc', this.blobKey, ZERO_IV).setAutoPadding(false);
      const sha256 = Buffer.concat([d.update(Buffer.from(m[1]!, 'hex')), d.final()]).toString('hex');
      return { kind: 'blob', sha256, ext: m[2]! };
    }
    m = GENERATED_NAME.exec(name);
    if (m) {
      const d = createDecipheriv('aes-256-ecb', this.soundKey, null).setAutoPadding(false);
      return { kind: 'generated', params: Buffer.concat([d.update(Buffer.from(m[1]!, 'hex')), d.final()]) };
    }
    return null;
  }
}
