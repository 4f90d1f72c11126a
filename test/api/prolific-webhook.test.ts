/**
 * POST /api/prolific/webhook on a real server, with events delivered the way Prolific's reference
 * describes (signed by the local stand-in, never by Prolific): a good signature applies the
 * status and frees the slot at once; a bad, missing or stale signature gets 401 and a log line
 * without the body; a retried or replayed event changes nothing.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProlificStandIn } from '../support/prolific-stand-in.ts';
import { postJson, type TestServer } from '../support/test-server.ts';
import { type Arrival, arrive, type LinkedStudy, startLinkedStudy } from './prolific-helpers.ts';

const SECRET = 'whsec-stand-in-0123456789';
let linked: LinkedStudy;
let server: TestServer;
let standIn: ProlificStandIn;
let study: string;
let hook: string;
const logs: string[] = [];

beforeAll(async () => {
  process.env.PROLIFIC_WEBHOOK_SECRET = SECRET;
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  linked = await startLinkedStudy({ logger: pino({ level: 'info' }, sink) });
  ({ server, standIn, study } = linked);
  hook = `${server.url}/api/prolific/webhook`;
});
afterAll(async () => {
  delete process.env.PROLIFIC_WEBHOOK_SECRET;
  await linked?.dispose();
});

const event = (a: Arrival, status: string) => ({
  resource_id: a.submission.id,
  event_type: 'submission.status.change',
  participant_id: a.submission.participant_id,
  status,
});

const sessionOf = async (a: Arrival) => (await server.store.prolificSessions('fixture-study')).find((s) => s.id === a.view.session)!;
const storedStatus = async (a: Arrival) =>
  (await server.store.prolificSubmissions('fixture-study')).find((s) => s.submission_id === a.submission.id)?.status;

describe('POST /api/prolific/webhook', () => {
  it('a correctly signed return frees the slot at once: the next participant gets it', async () => {
    const a = await arrive(server, standIn, study);
    await arrive(server, standIn, study);
    const slot = (await sessionOf(a)).slot;
    const r = await ProlificStandIn.deliver(hook, SECRET, event(a, 'RETURNED'));
    expect(r).toEqual({ status: 200, body: { ok: true, outcome: 'applied', released: 1 } });
    expect(await sessionOf(a)).toMatchObject({ state: 'abandoned', abandon_reason: 'prolific_returned' });
    const next = await arrive(server, standIn, study);
    expect((await sessionOf(next)).slot).toBe(slot);
  });

  it('refuses unsigned, mis-signed and stale events with 401, logging them without the body', async () => {
    const a = await arrive(server, standIn, study);
    const before = logs.length;
    const unsigned = await ProlificStandIn.deliver(hook, SECRET, event(a, 'RETURNED'), { signature: null });
    expect([unsigned.status, unsigned.body.code]).toEqual([401, 'unsigned']);
    const wrong = await ProlificStandIn.deliver(hook, 'not-the-secret', event(a, 'RETURNED'));
    expect([wrong.status, wrong.body.code]).toEqual([401, 'bad_signature']);
    const stale = await ProlificStandIn.deliver(hook, SECRET, event(a, 'RETURNED'), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect([stale.status, stale.body.code]).toEqual([401, 'stale']);
    const future = await ProlificStandIn.deliver(hook, SECRET, event(a, 'RETURNED'), { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect([future.status, future.body.code]).toEqual([401, 'stale']);

    expect(await sessionOf(a)).toMatchObject({ state: 'started', abandon_reason: null });
    expect(await storedStatus(a)).toBeUndefined();
    const refused = logs.slice(before).filter((l) => l.includes('prolific webhook refused'));
    expect(refused.map((l) => JSON.parse(l).reason)).toEqual(['unsigned', 'bad_signature', 'stale', 'stale']);
    for (const l of logs.slice(before)) {
      expect(l).not.toContain(a.submission.id);
      expect(l).not.toContain(a.submission.participant_id);
    }
  });

  it('applies a retried event once, and a replay of its signature under a new event id not at all', async () => {
    const a = await arrive(server, standIn, study);
    const timestamp = Math.floor(Date.now() / 1000);
    const first = await ProlificStandIn.deliver(hook, SECRET, event(a, 'TIMED-OUT'), { eventId: 'evt-retried', timestamp });
    expect(first.body).toEqual({ ok: true, outcome: 'applied', released: 1 });
    for (let i = 0; i < 3; i++) {
      const retry = await ProlificStandIn.deliver(hook, SECRET, event(a, 'TIMED-OUT'), { eventId: 'evt-retried', timestamp });
      expect(retry).toEqual({ status: 200, body: { ok: true, outcome: 'duplicate', released: 0 } });
    }
    const replay = await ProlificStandIn.deliver(hook, SECRET, event(a, 'TIMED-OUT'), { eventId: 'evt-forged', timestamp });
    expect(replay.body.outcome).toBe('duplicate');
    expect(await sessionOf(a)).toMatchObject({ state: 'abandoned', abandon_reason: 'prolific_timed_out' });
  });

  it('keeps the newest status when events arrive out of order', async () => {
    const a = await arrive(server, standIn, study);
    const now = Math.floor(Date.now() / 1000);
    const newer = await ProlificStandIn.deliver(hook, SECRET, event(a, 'AWAITING REVIEW'), { eventTimestamp: now });
    expect(newer.body.outcome).toBe('applied');
    const older = await ProlificStandIn.deliver(hook, SECRET, event(a, 'ACTIVE'), { eventTimestamp: now - 30 });
    expect(older.body.outcome).toBe('stale');
    expect(await storedStatus(a)).toBe('AWAITING REVIEW');
  });

  it("verifies a compact body against the reference example's json.dumps form", async () => {
    const a = await arrive(server, standIn, study);
    const r = await ProlificStandIn.deliver(hook, SECRET, event(a, 'RETURNED'), { compactBody: true });
    expect(r.body).toEqual({ ok: true, outcome: 'applied', released: 1 });
  });

  it('answers malformed requests with 4xx, never 5xx, and stores nothing', async () => {
    const before = (await server.store.prolificSubmissions('fixture-study')).length;
    const ts = () => String(Math.floor(Date.now() / 1000));
    const bodies = [
      '',
      '{',
      'null',
      '[]',
      '{"event_type": 5}',
      'x'.repeat(70_000),
      '\u0000\u00ff',
      JSON.stringify({ event_type: 'submission.status.change' }),
    ];
    const headerSets: Record<string, string>[] = [
      {},
      { 'X-Prolific-Request-Timestamp': ts() },
      { 'X-Prolific-Request-Signature': 'AAAA' },
      { 'X-Prolific-Request-Timestamp': 'NaN', 'X-Prolific-Request-Signature': 'AAAA' },
      { 'X-Prolific-Request-Timestamp': ts(), 'X-Prolific-Request-Signature': '' },
      { 'X-Prolific-Request-Timestamp': '1'.repeat(40), 'X-Prolific-Request-Signature': 'x'.repeat(5000) },
    ];
    for (const body of bodies) {
      for (const headers of headerSets) {
        for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
          const r = await postJson(hook, body, { headers: { 'Content-Type': type, ...headers } });
          expect(r.status, `${type} ${JSON.stringify(headers).slice(0, 80)} ${body.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        }
      }
    }
    expect((await server.store.prolificSubmissions('fixture-study')).length).toBe(before);
  });

  it('acknowledges events it cannot place, and refuses signed bodies that are not events', async () => {
    const stranger = await ProlificStandIn.deliver(hook, SECRET, {
      resource_id: 'sub-elsewhere',
      event_type: 'submission.status.change',
      participant_id: 'someone',
      status: 'RETURNED',
    });
    expect(stranger.body).toEqual({ ok: true, outcome: 'unmatched', released: 0 });
    const other = await ProlificStandIn.deliver(hook, SECRET, { resource_id: study, event_type: 'study.status.change', status: 'PAUSED' });
    expect(other.body.outcome).toBe('ignored');
    const junk = await postJson(hook, 'not json', {
      headers: { 'Content-Type': 'application/json', 'X-Prolific-Request-Timestamp': String(Math.floor(Date.now() / 1000)) },
    });
    expect(junk.status).toBe(401);
  });
});
