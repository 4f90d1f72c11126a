/**
 * The ingestion baseline: bare node:http and one better-sqlite3 INSERT per POST, with the same
 * journal and synchronous settings as the platform's store. No validation, no routing, no session
 * lookup: the floor of what "one durable insert per HTTP request" costs in Node on this machine.
 */
import http from 'node:http';
import Database from 'better-sqlite3';
import { synchronousSetting } from '../server/store/database.ts';

const [file, portArg] = process.argv.slice(2);
const db = new Database(file!);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronousSetting()}`);
db.exec(`CREATE TABLE IF NOT EXISTS trials (
  session_id TEXT NOT NULL, trial_index INTEGER NOT NULL, data TEXT NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, trial_index)) WITHOUT ROWID`);
const insert = db.prepare('INSERT INTO trials (session_id, trial_index, data, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
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
      const record = JSON.parse(body) as { trial_index: number };
      insert.run(session, record.trial_index, body, Date.now());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': OK.length }).end(OK);
    });
  })
  .listen(Number(portArg), '127.0.0.1');
