/**
 * The PostgreSQL ingestion baseline: bare node:http and one INSERT per POST into the platform's
 * own `trials` table (same schema, its foreign key dropped since the baseline has no sessions),
 * through the same client library the store uses (node-postgres, a pool of the same size, a named
 * prepared statement), with no validation, routing, session or plan lookup: the floor of "one
 * durable PostgreSQL insert of this row per HTTP request" in Node on this machine.
 */
import http from 'node:http';
import pg from 'pg';

const [url, portArg] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.METAMER_DATABASE_POOL ?? 10) });
const INSERT = {
  name: 'baseline-insert',
  text: `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
      response, correct, rt_ms, data, received_at)
    VALUES ($1, $2, 'main', 'net__late__s0123', 's0123', 'bear', 'net', 'late', 2, $3, 1, $4, $5, $6)
    ON CONFLICT (session_id, trial_index) DO NOTHING`,
};
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
      pool.query({ ...INSERT, values: [session, record.trial_index, record.response, record.rt_ms, body, Date.now()] }).then(
        () => res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': OK.length }).end(OK),
        () => res.writeHead(500).end(),
      );
    });
  })
  .listen(Number(portArg), '127.0.0.1');
