/**
 * POST /api/prolific/webhook: Prolific's `submission.status.change` events
 * (https://docs.prolific.com/api-reference/webhooks/receiving), applied like `metamer prolific sync`.
 *
 * - The body is read raw (the signature covers its bytes), so the router is mounted before the
 *   app's JSON parser; at most 64 KB.
 * - Unsigned, mis-signed and stale requests get 401 and a log line without the body.
 * - Prolific delivers at least once with the same X-Event-ID; a repeated id (or signature) is
 *   acknowledged with 200 and changes nothing. Out-of-order events are stored only when newer
 *   than the stored status (X-Timestamp).
 * - An event for a submission no linked study knows is acknowledged and left for the next sync.
 */
import { createHash } from 'node:crypto';
import express, { type Request, Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import { webhookSecret, WEBHOOK_SECRET_ENV } from './settings.ts';
import { normaliseStatus } from './submission-status.ts';
import { applyReconciliation } from './sync.ts';
import {
  EVENT_ID_HEADER,
  EVENT_TIMESTAMP_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  unixHeaderMs,
  verifyProlificRequest,
} from './webhook-signature.ts';

export const WEBHOOK_PATH = '/api/prolific/webhook';

/** The documented payload; other event types (study.status.change, …) are acknowledged and ignored. */
const WebhookEvent = z.looseObject({
  event_type: z.string().min(1).max(100),
  resource_id: z.string().min(1).max(200).optional(),
  participant_id: z.string().min(1).max(200).optional(),
  status: z.string().min(1).max(100).optional(),
});

export interface WebhookDeps {
  store: Store;
  logger: Logger;
  /** The shared secret (default: PROLIFIC_WEBHOOK_SECRET, read at each request). */
  secret?: () => string | undefined;
  now?: () => number;
}

const REFUSALS = {
  unsigned: 'the request is not signed (X-Prolific-Request-Signature and X-Prolific-Request-Timestamp)',
  bad_timestamp: 'X-Prolific-Request-Timestamp is not a UNIX timestamp',
  stale: 'X-Prolific-Request-Timestamp is more than five minutes from now',
  bad_signature: 'the signature does not match',
} as const;

export function prolificWebhookRouter(deps: WebhookDeps): Router {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  const router = Router();
  router.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: '64kb' }), async (req: Request, res) => {
    const secret = (deps.secret ?? webhookSecret)();
    if (!secret) {
      logger.warn({ ip: req.ip }, 'prolific webhook refused: no secret configured');
      return void res
        .status(404)
        .json({ error: `Prolific webhooks are not set up on this server (${WEBHOOK_SECRET_ENV})`, code: 'not_configured' });
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.get(SIGNATURE_HEADER);
    const refusal = verifyProlificRequest(secret, { signature, timestamp: req.get(TIMESTAMP_HEADER), rawBody }, now());
    if (refusal) {
      logger.warn({ ip: req.ip, reason: refusal, bytes: rawBody.length }, 'prolific webhook refused');
      return void res.status(401).json({ error: REFUSALS[refusal], code: refusal });
    }
    let parsed: z.infer<typeof WebhookEvent>;
    try {
      parsed = WebhookEvent.parse(JSON.parse(rawBody.toString('utf8')));
    } catch {
      logger.warn({ ip: req.ip, bytes: rawBody.length }, 'prolific webhook: signed, but not the documented payload');
      return void res.status(400).json({ error: 'the body is not a Prolific webhook event', code: 'invalid' });
    }
    const signatureHash = createHash('sha256').update(signature!).digest('hex');
    const eventId = req.get(EVENT_ID_HEADER)?.trim().slice(0, 200) || `signature:${signatureHash}`;
    if (parsed.event_type !== 'submission.status.change') {
      logger.info({ event_type: parsed.event_type }, 'prolific webhook: event type not used');
      return void res.json({ ok: true, outcome: 'ignored' });
    }
    if (!parsed.resource_id || !parsed.participant_id || !parsed.status) {
      return void res
        .status(400)
        .json({ error: 'submission.status.change without resource_id, participant_id or status', code: 'invalid' });
    }
    const receivedAt = now();
    const studyId = await store.locateProlificSubmission(parsed.resource_id, parsed.participant_id);
    const row = studyId
      ? {
          submission_id: parsed.resource_id,
          study_id: studyId,
          prolific_pid: parsed.participant_id,
          status: normaliseStatus(parsed.status),
          status_at: unixHeaderMs(req.get(EVENT_TIMESTAMP_HEADER)) ?? receivedAt,
          started_at: null,
          completed_at: null,
        }
      : null;
    const outcome = await store.applyWebhookEvent({ event_id: eventId, signature_hash: signatureHash, received_at: receivedAt }, row);
    let released = 0;
    if (studyId && outcome === 'applied') released = (await applyReconciliation(store, studyId)).released.length;
    logger.info({ outcome, released, study: studyId ?? null }, 'prolific webhook');
    res.json({ ok: true, outcome, released });
  });
  return router;
}
