/**
 * The ingestion baseline: bare node:http and one better-sqlite3 INSERT per POST into the
 * platform's own `trials` table (same schema, same journal and synchronous settings), with no
 * validation, no routing, no session or plan lookup, no correctness: the floor of "one durable
 * insert of this row per HTTP request" in Node on this machine.
 */
import http from 'node:http';
import { openDatabase } from '../server/store/database.ts';

const [file, portArg] = process.argv.slice(2);
const db = openDatabase(file!);
// The baseline has no sessions to refer to.
db.pragma('foreign_keys = OFF');
const insert = db.prepare(
  `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
     response, correct, rt_ms, data, received_at)
   VALUES (?, ?, 'main', 'net__late__s0123', 's0123', 'bear', 'net', 'late', 2, ?, 1, ?, ?, ?)
   ON CONFLICT (session_id, trial_index) DO NOTHING`,
);
const OK = '{"stored":"created"}';

http
  .createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200).end('ok');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const session = req.url!.split('/')[3]!;
      const body = Buffer.concat(chunks).toString();
      const record = JSON.parse(body) as { trial_index: number; response: string; rt_ms: number };
      insert.run(session, record.trial_index, record.response, record.rt_ms, body, Date.now());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': OK.length }).end(OK);
    });
  })
  .listen(Number(portArg), '127.0.0.1');
