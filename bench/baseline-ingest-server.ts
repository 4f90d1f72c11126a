/**
 * The load benchmarks' baseline (bench/ingest.ts, bench/burst.ts): the participant API's HTTP
 * exchanges done the plainest way, on bare node:http and better-sqlite3, so that a ratio to it is
 * the cost of the platform's own logic and nothing else.
 *
 * What it does, as the platform does: one committed INSERT per trial POST into the platform's own
 * `trials` table (same schema, WAL, the same `synchronous` setting), with the platform's WAL
 * checkpoint worker (server/store/checkpointer.ts); a session start that writes a session row and
 * answers with a view of the same size (444 trials by default, each with a stimulus URL and a mask);
 * stimulus files from the same blob folder, kept in memory once read; a gate that counts the
 * session's stored trials; a completion that updates the session row.
 * What it does not do: validate input (zod), route (the platform uses node:http for trials and
 * Express for the rest), plan a session (Latin square, shuffles), check a trial against the plan,
 * compute correctness, keep canonical JSON for idempotency, rate-limit, log, set security headers.
 *
 * Usage: node --import tsx bench/baseline-ingest-server.ts <db file> <port> [<blob dir>] [<trials> <gate after>]
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startCheckpointer } from '../server/store/checkpointer.ts';
import { openDatabase } from '../server/store/database.ts';
import { PAPER_IMAGE_CATEGORIES } from '../test/fixtures/stimulus-sets.ts';

const [file, portArg, blobDir, trialsArg, gateArg] = process.argv.slice(2);
const TRIALS = Number(trialsArg ?? 444);
const GATE_AFTER = Number(gateArg ?? 27);
const db = openDatabase(file!);
// The baseline's sessions live in its own table; trials refer to them by id only.
db.pragma('foreign_keys = OFF');
db.exec(
  'CREATE TABLE IF NOT EXISTS baseline_sessions (id TEXT PRIMARY KEY, prolific_pid TEXT, state TEXT, started_at INTEGER, finished_at INTEGER)',
);
startCheckpointer(db, file!, 500);

const insertTrial = db.prepare(
  `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
     response, correct, rt_ms, data, received_at)
   VALUES (?, ?, 'main', 'net__late__s0123', 's0123', 'bear', 'net', 'late', 2, ?, 1, ?, ?, ?)
   ON CONFLICT (session_id, trial_index) DO NOTHING`,
);
const insertSession = db.prepare("INSERT INTO baseline_sessions (id, prolific_pid, state, started_at) VALUES (?, ?, 'started', ?)");
const countTrials = db.prepare('SELECT count(*) FROM trials WHERE session_id = ?').pluck();
const finishSession = db.prepare("UPDATE baseline_sessions SET state = 'completed', finished_at = ? WHERE id = ?");

/** Every stimulus file of the blob folder (`<aa>/<sha256>.<ext>`), by its URL. */
const files = new Map<string, string>();
if (blobDir) {
  for (const rel of fs.readdirSync(blobDir, { recursive: true }).map(String)) {
    if (/^[0-9a-f]{2}[\\/][0-9a-f]{64}\.\w+$/.test(rel)) files.set(`/stimuli/${path.basename(rel)}`, path.join(blobDir, rel));
  }
}
const urls = [...files.keys()].sort();
const cache = new Map<string, Buffer>();

function view(session: string, pid: string): string {
  // A different run of the files for each participant, as the platform's rotation gives.
  let offset = 0;
  for (const c of pid) offset = (offset * 31 + c.charCodeAt(0)) >>> 0;
  const masks = urls.slice(0, 8);
  const trials = Array.from({ length: TRIALS }, (_, index) => ({
    index,
    stimulus: urls.length ? urls[(offset + index) % urls.length] : '',
    ...(masks.length ? { mask: masks[index % masks.length] } : {}),
  }));
  return JSON.stringify({ session, choices: PAPER_IMAGE_CATEGORIES, trials, screening_last_index: GATE_AFTER });
}

function json(res: http.ServerResponse, body: string, status = 200): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

http
  .createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET') {
      const file = files.get(url);
      if (!file) return void res.writeHead(url === '/' ? 200 : 404).end(url === '/' ? 'ok' : 'not found');
      let body = cache.get(url);
      if (!body) cache.set(url, (body = fs.readFileSync(file)));
      return void res
        .writeHead(200, {
          'Content-Type': 'image/png',
          'Content-Length': body.length,
          'Cache-Control': 'public, max-age=31536000, immutable',
        })
        .end(body);
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const parts = url.split('?')[0]!.split('/');
      // /api/studies/<study>/sessions
      if (parts[2] === 'studies') {
        const pid = (JSON.parse(body) as { prolific_pid: string }).prolific_pid;
        const session = randomBytes(16).toString('hex');
        insertSession.run(session, pid, Date.now());
        return json(res, view(session, pid));
      }
      // /api/sessions/<session>/(trials|gates/screening|complete)
      const session = parts[3]!;
      if (parts[4] === 'trials') {
        const record = JSON.parse(body) as { trial_index: number; response: string; rt_ms: number };
        insertTrial.run(session, record.trial_index, record.response, record.rt_ms, body, Date.now());
        return json(res, '{"stored":"created"}');
      }
      if (parts[4] === 'gates') return json(res, JSON.stringify({ passed: (countTrials.get(session) as number) > GATE_AFTER }));
      if (parts[4] === 'complete') {
        finishSession.run(Date.now(), session);
        return json(res, '{"redirect_url":"https://app.prolific.com/submissions/complete?cc=BASELINE"}');
      }
      json(res, '{"error":"not found"}', 404);
    });
  })
  .listen(Number(portArg), '127.0.0.1');
