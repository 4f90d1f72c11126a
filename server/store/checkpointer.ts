/**
 * WAL checkpoints off the request path. By default SQLite checkpoints inside whichever commit
 * fills the WAL past 1,000 pages: that commit (a participant's trial save) then copies megabytes
 * into the database file while every other request waits, which is the long tail of save
 * latency. The server turns automatic checkpoints off and a worker thread, with its own
 * connection, runs PASSIVE checkpoints (they never block writers) every half second.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './database.ts';

// An eval'd worker is CommonJS and needs no TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage(String(e)); }
}, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); try { db.pragma('wal_checkpoint(PASSIVE)'); } finally { db.close(); } parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(db: Db, file: string, everyMs = 500, onError: (message: string) => void = () => {}): Checkpointer {
  db.pragma('wal_autocheckpoint = 0');
  // Resolved here: an eval'd worker would look for the module from the working directory.
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs, module } });
  let exited = false;
  worker.on('message', (m: string) => onError(m));
  worker.on('error', (e) => onError(String(e)));
  worker.once('exit', () => {
    exited = true;
    // Without the worker, SQLite's own rule must checkpoint again, or the WAL grows for ever.
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  });
  worker.unref();
  return {
    stop() {
      if (exited) return Promise.resolve();
      return new Promise((resolve) => {
        worker.once('exit', () => resolve());
        // Unref'd so that it never keeps a process alive, but stopping must wait for its exit.
        worker.ref();
        worker.postMessage('stop');
      });
    },
  };
}
