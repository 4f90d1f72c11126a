/**
 * POST /api/sessions/:session/trials on bare node:http, ahead of Express.
 *
 * Every participant posts one of these per trial, hundreds per session, all at once at a Prolific
 * launch; Express 5's middleware stack costs several times the SQLite commit itself (docs/design.md §7,
 * docs/benchmarks.md). So this one route parses and answers by hand, with the same rules the
 * Express routes follow: bodies up to 16 KB of JSON (or text/plain, which sendBeacon sends),
 * 4xx with `{error, code}` for anything the client got wrong, never a stack trace.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { HttpError } from './http-error.ts';
import type { ParticipantSessions } from './participant-sessions.ts';

const TRIAL_PATH = /^\/api\/sessions\/([A-Za-z0-9_-]{1,64})\/trials$/;
const MAX_BODY = 16 * 1024;
const CREATED = { stored: 'created' } as const;
const DUPLICATE = { stored: 'duplicate' } as const;

/** The session token if this request is a trial save, else null (Express handles it). */
export function trialPostSession(req: IncomingMessage): string | null {
  if (req.method !== 'POST' || !req.url) return null;
  const m = TRIAL_PATH.exec(req.url);
  return m ? m[1]! : null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY) return reject(new HttpError(413, 'entity.too.large', `request body over ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'entity.too.large', `request body over ${MAX_BODY} bytes`));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client gone mid-body may close without 'error' or 'end': settle rather than wait forever.
    req.on('close', () => {
      if (!req.complete) reject(Object.assign(new Error('request aborted'), { code: 'ECONNABORTED' }));
    });
  });
}

/** True when a request failed because its client closed the connection (not a server fault). */
export function clientAborted(req: IncomingMessage, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    req.destroyed || code === 'ECONNRESET' || code === 'ECONNABORTED' || (err as { type?: string } | undefined)?.type === 'request.aborted'
  );
}

export async function handleTrialPost(
  req: IncomingMessage,
  res: ServerResponse,
  session: string,
  sessions: ParticipantSessions,
  logger: Logger,
): Promise<void> {
  try {
    const [rawType = '', ...params] = (req.headers['content-type'] ?? '').split(';');
    const type = rawType.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'text/plain') {
      throw new HttpError(415, 'unsupported_media_type', 'send the trial record as application/json');
    }
    // The body is read as UTF-8 (JSON's only interchange encoding, RFC 8259 §8.1): a record that
    // says it is in another charset would be stored garbled, so it is refused instead.
    const charset = params
      .map((p) => p.trim().toLowerCase())
      .find((p) => p.startsWith('charset='))
      ?.slice(8)
      .replace(/^"(.*)"$/, '$1');
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      throw new HttpError(415, 'unsupported_charset', `charset ${charset} is not accepted; send UTF-8`);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding !== 'identity')
      throw new HttpError(415, 'unsupported_encoding', `content-encoding ${encoding} is not accepted`);
    const text = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'entity.parse.failed', 'the body is not valid JSON');
    }
    const ack = await sessions.recordTrial(session, body);
    send(res, 200, ack.feedback ? ack : ack.stored === 'created' ? CREATED : DUPLICATE);
  } catch (err) {
    if (err instanceof HttpError) return send(res, err.status, err.body());
    // The participant's browser went away mid-request (a closed tab, a lost connection): nothing
    // to answer and nothing wrong here; the saving queue sends the record again.
    if (clientAborted(req, err))
      return void logger.debug({ code: (err as NodeJS.ErrnoException).code }, 'trial save: client aborted the request');
    logger.error({ err }, 'trial save failed');
    if (!res.headersSent) send(res, 500, { error: 'internal error; the request can be retried', code: 'internal' });
  }
}
