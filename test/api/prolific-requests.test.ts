/**
 * `metamer prolific return` and `metamer prolific webhook` against the local stand-in of Prolific's
 * API (never Prolific itself), each request checked against the reference.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ProlificStandIn } from '../support/prolific-stand-in.ts';
import type { TestServer } from '../support/test-server.ts';
import { type Arrival, arrive, completeHere, metamer, participantIdOf, prolificEnv, useLinkedStudy } from './prolific-helpers.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

let server: TestServer;
let standIn: ProlificStandIn;
let study: string;
let idle: Arrival;
let finished: Arrival;

useLinkedStudy(async (linked) => {
  ({ server, standIn, study } = linked);
  finished = await arrive(server, standIn, study);
  await completeHere(server, standIn, finished);
  idle = await arrive(server, standIn, study);
  // The idle timer's sweep, as if an hour had passed without a trial.
  expect(await server.store.abandonIdleSessions('fixture-study', Date.now() + 1000)).toBe(1);
});

describe('metamer prolific return', () => {
  it('asks a participant abandoned here but still active on Prolific to return the submission', async () => {
    const r = await metamer(
      server,
      ['prolific', 'return', 'fixture-study', await participantIdOf(server, idle), '--reason', 'Did not finish the study'],
      prolificEnv(standIn),
    );
    expect(r.code).toBe(0);
    expect(standIn.submissions.get(idle.submission.id)!.return_requested).not.toBeNull();
  });

  it('refuses for a session that completed here, before anything is sent', async () => {
    const r = await metamer(
      server,
      ['prolific', 'return', 'fixture-study', await participantIdOf(server, finished), '--reason', 'x'],
      prolificEnv(standIn),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a return can be asked only of a submission still active on Prolific');
    expect(standIn.submissions.get(finished.submission.id)!.return_requested).toBeNull();
  });
});

describe('metamer prolific webhook', () => {
  it('creates the secret, subscribes to submission status changes and confirms the subscription', async () => {
    const url = 'https://metamer.example.org/api/prolific/webhook';
    const r = await metamer(server, ['prolific', 'webhook', 'WORKSPACE1', '--create-secret', '--url', url, '--json'], prolificEnv(standIn));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.secret).toBe(standIn.secrets.get('WORKSPACE1'));
    const [hook] = [...standIn.hooks.values()];
    expect(hook).toMatchObject({ workspace_id: 'WORKSPACE1', event_type: 'submission.status.change', target_url: url, confirmed: true });
  });

  it('passes on Prolific’s refusal of a non-https address, and needs an address to subscribe', async () => {
    const plain = await metamer(
      server,
      ['prolific', 'webhook', 'WORKSPACE1', '--url', 'http://metamer.example.org/hook'],
      prolificEnv(standIn),
    );
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('Prolific answered 400 to POST /api/v1/hooks/subscriptions/');
    const none = await metamer(server, ['prolific', 'webhook', 'WORKSPACE1'], prolificEnv(standIn));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('give --url, or set METAMER_PUBLIC_URL');
  });
});
