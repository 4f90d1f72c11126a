/**
 * Prolific's webhook signature (https://docs.prolific.com/api-reference/webhooks/verifying):
 * "Hook requests will contain two headers, X-Prolific-Request-Signature and
 * X-Prolific-Request-Timestamp … sign the request body and timestamp with your secret key using
 * SHA256 and then base64 encode the resulting digest", i.e.
 *
 *   base64( HMAC-SHA256( secret, timestamp + body ) )
 *
 * The reference's example computes `body` as Python's `json.dumps(body)` of the parsed payload, so
 * a request verifies against its raw bytes or, failing that, against that serialisation of them
 * (`pythonJsonDumps`); both need the secret. A timestamp more than five minutes from now is
 * refused, so a captured request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-prolific-request-signature';
export const TIMESTAMP_HEADER = 'x-prolific-request-timestamp';
/** https://docs.prolific.com/api-reference/webhooks/idempotency-and-the-x-event-id-header: the same on every retry. */
export const EVENT_ID_HEADER = 'x-event-id';
/** https://docs.prolific.com/api-reference/webhooks/handling-event-order-with-x-timestamp: "when the event was sent". */
export const EVENT_TIMESTAMP_HEADER = 'x-timestamp';

export const TOLERANCE_MS = 5 * 60_000;

export type Refusal = 'unsigned' | 'bad_timestamp' | 'stale' | 'bad_signature';

export function prolificSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
}

/** A UNIX timestamp header (seconds, or milliseconds when that large) as unix ms; null when malformed. */
export function unixHeaderMs(value: string | undefined): number | null {
  if (!value || !/^\d{1,16}(\.\d{1,6})?$/.test(value.trim())) return null;
  const n = Number(value);
  return n > 1e11 ? Math.round(n) : Math.round(n * 1000);
}

function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface SignedRequest {
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer;
}

export function verifyProlificRequest(secret: string, req: SignedRequest, now: number): Refusal | null {
  const signature = req.signature?.trim();
  const timestamp = req.timestamp?.trim();
  if (!signature || !timestamp) return 'unsigned';
  const at = unixHeaderMs(timestamp);
  if (at === null) return 'bad_timestamp';
  if (Math.abs(now - at) > TOLERANCE_MS) return 'stale';
  if (sameSignature(prolificSignature(secret, timestamp, req.rawBody), signature)) return null;
  let reserialised: string | null = null;
  try {
    reserialised = pythonJsonDumps(JSON.parse(req.rawBody.toString('utf8')));
  } catch {
    // not JSON: only the raw form could have matched
  }
  if (reserialised !== null && sameSignature(prolificSignature(secret, timestamp, reserialised), signature)) return null;
  return 'bad_signature';
}

function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) {
      // ensure_ascii: everything outside printable ASCII as \uXXXX, astral characters as a surrogate pair.
      for (let i = 0; i < ch.length; i++) out += '\\u' + ch.charCodeAt(i).toString(16).padStart(4, '0');
    } else out += ch;
  }
  return out + '"';
}

/**
 * Python's `json.dumps(value)` with its defaults (", " and ": " separators, ensure_ascii, keys in
 * their order). JSON numbers come back as JavaScript prints them: Prolific's payloads carry strings.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return '[' + value.map(pythonJsonDumps).join(', ') + ']';
  if (typeof value === 'object') {
    return (
      '{' +
      Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${pyString(k)}: ${pythonJsonDumps(v)}`)
        .join(', ') +
      '}'
    );
  }
  return 'null';
}
