/**
 * Where the data lives. One database file; everything else sits beside it so that a data folder
 * can be moved or backed up as a whole.
 */
import path from 'node:path';

export const DEFAULT_DB = 'data/metamer.db';

export interface DataPaths {
  /** The SQLite database file. */
  db: string;
  /** Content-addressed stimulus files (`<blobs>/<aa>/<sha256>.<ext>`). */
  blobs: string;
  /** The key for pseudonymous participant ids; outside the database by design (docs/design.md §7). */
  pidKeyFile: string;
  /** The experimenter dashboard's admin token, when not given by METAMER_ADMIN_TOKEN. */
  adminTokenFile: string;
  /** The key of stimulus URLs, when not given by METAMER_STIMULUS_KEY (server/stimulus-keys.ts). */
  stimulusKeyFile: string;
}

export function dataPaths(db: string = process.env.METAMER_DB ?? DEFAULT_DB): DataPaths {
  const dir = path.dirname(path.resolve(db));
  return {
    db: path.resolve(db),
    blobs: path.join(dir, 'blobs'),
    pidKeyFile: path.join(dir, 'participant-id.key'),
    adminTokenFile: path.join(dir, 'admin-token'),
    stimulusKeyFile: path.join(dir, 'stimulus-url.key'),
  };
}
