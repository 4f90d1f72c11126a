/**
 * Participant routes: the page at the URL pasted into Prolific, and the JSON API its script uses.
 * Thin: parse, call ParticipantSessions, format.
 */
import { Router, type Request } from 'express';
import { GatePhase, SessionStartRequest, TurnAwayReport } from '../../experiment/contract.ts';
import { HttpError } from '../http-error.ts';
import { type MessageCode, type MessageLink, messagePage, runPage } from '../pages.ts';
import { recordPageReport } from '../page-reports.ts';
import { exitUrl, type ParticipantSessions, PREVIEW_PID_PREFIX } from '../participant-sessions.ts';
import { OTHER_SUBMISSION_MESSAGE, participantIdProblem } from '../session-ownership.ts';
import { pageBrief } from '../page-brief.ts';
import { allowExitProbe } from '../exit-host.ts';
import { previewRunPath } from '../participant-url.ts';
import { sessionStartLimit, turnAwayLimit } from '../rate-limits.ts';
import type { ExperimentBundle } from '../experiment-bundle.ts';
import type { Store } from '../store/store.ts';

export const ASSET_PREFIX = '/assets/';

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function participantRouter(store: Store, sessions: ParticipantSessions, bundle: ExperimentBundle): Router {
  const r = Router();
  const page = (heading: string, text: string, link?: MessageLink, code?: MessageCode) =>
    messagePage(bundle, ASSET_PREFIX, heading, text, link, code);

  r.get('/run/:studyId', async (req, res) => {
    res.type('html');
    const ctx = await sessions.studyContext(req.params.studyId);
    if (!ctx)
      return void res.status(404).send(page('Study not found', 'There is no study at this address. Please check the link you were given.'));
    const pid = queryString(req, 'PROLIFIC_PID');
    if (!pid || !SessionStartRequest.shape.prolific_pid.safeParse(pid).success) {
      return void res
        .status(400)
        .send(
          page(
            'Your Prolific ID is missing',
            'Please open this study from the link on Prolific: the link carries your Prolific ID, which we need to record your participation and pay you.',
          ),
        );
    }
    const config = ctx.study.config;
    const problem = pid.startsWith(PREVIEW_PID_PREFIX) ? null : participantIdProblem(config.prolific.id_format, pid);
    if (problem) return void res.status(400).send(page('This link is not valid', problem));
    const found = await store.findSession(ctx.study.id, pid);
    // A session is shown only to its own submission (session-ownership.ts). Here that can be told
    // from the link's SESSION_ID alone; without it, the page asks with the resume key it keeps,
    // and the API decides. A Prolific ID alone learns nothing of the session, not even its state.
    const sessionIdInLink = queryString(req, 'SESSION_ID');
    const existing = found && sessions.owns(found, { prolific_session_id: sessionIdInLink }) ? found : undefined;
    if (found && !existing && found.prolific_session_id !== null && sessionIdInLink !== undefined) {
      return void res.status(409).send(page('You have already started this study', OTHER_SUBMISSION_MESSAGE));
    }
    if (existing?.state === 'completed' || existing?.state === 'screened_out') {
      // The code stays visible here too: a participant whose redirect failed comes back to it.
      const ended = existing.state;
      const code = existing.preview ? undefined : ended === 'completed' ? config.prolific.completion_code : config.prolific.screenout_code;
      return void res.send(
        page(
          ended === 'completed' ? 'You have already completed this study' : 'This study has ended for you',
          ended === 'completed'
            ? 'Thank you! Your answers were saved. If Prolific has not recorded your submission, ' +
                'enter this code on Prolific or use the button below.'
            : 'Thank you for your time. Please enter this code on Prolific or use the button below to return there.',
          { href: exitUrl(config, existing, ended), label: existing.preview ? 'Back to the dashboard' : 'Return to Prolific' },
          code ? { label: 'Your code for Prolific', value: code } : undefined,
        ),
      );
    }
    if (!found && ctx.study.status !== 'live') {
      const why = ctx.study.status === 'closed' ? 'This study has closed.' : 'This study is not open at the moment.';
      return void res.status(403).send(page('This study is not open', `${why} Please return it on Prolific. Thank you for your interest!`));
    }
    if (!found && (await store.countSessions(ctx.study.id)).completed >= config.target_completed) {
      return void res
        .status(403)
        .send(
          page('This study is full', 'It has all the participants it needs. Please return it on Prolific. Thank you for your interest!'),
        );
    }
    // A preview says so in the tab title; the page itself is exactly what participants see.
    const preview = existing?.preview ?? pid.startsWith(PREVIEW_PID_PREFIX);
    const brief = pageBrief(ctx.study, preview);
    allowExitProbe(res, config.prolific.complete_url);
    res.send(runPage(bundle, preview ? `Preview · ${brief.title}` : brief.title, ASSET_PREFIX, brief));
  });

  // `metamer serve`'s "try it" link: a preview run (no slot, not counted), then its page.
  r.get('/try/:studyId/:token', sessionStartLimit(), async (req, res) => {
    const started = await sessions.startTryIt(String(req.params.studyId), String(req.params.token));
    if (!started) {
      const notFound = page('Page not found', 'There is nothing at this address. Please check the link you were given.');
      return void res.status(404).type('html').send(notFound);
    }
    res.redirect(303, previewRunPath(String(req.params.studyId), started.prolificPid));
  });

  // The device check turned a participant away (experiment/device-gate.ts): 204 whatever happened.
  r.post('/api/studies/:studyId/turn-aways', turnAwayLimit(), async (req, res) => {
    const parsed = TurnAwayReport.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, 'invalid_turn_away', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    await sessions.recordTurnAway(String(req.params.studyId), parsed.data);
    res.status(204).end();
  });

  r.post('/api/studies/:studyId/sessions', async (req, res) => {
    const parsed = SessionStartRequest.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, 'invalid_start', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    res.json(await sessions.start(req.params.studyId, parsed.data, req.get('user-agent')));
  });

  // POST /api/sessions/:session/trials is served ahead of Express: see trial-route.ts.

  // A gate by name: `headphone` (the audio check), `screening`.
  r.post('/api/sessions/:session/gates/:phase', async (req, res) => {
    const phase = GatePhase.safeParse(req.params.phase);
    if (!phase.success) throw new HttpError(404, 'no_such_gate', `no gate "${req.params.phase}" (gates: ${GatePhase.options.join(', ')})`);
    res.json(await sessions.gate(req.params.session, phase.data));
  });

  r.post('/api/sessions/:session/page-report', async (req, res) => {
    res.json(await recordPageReport(store, req.params.session, req.body, req.get('user-agent')));
  });

  r.post('/api/sessions/:session/complete', async (req, res) => {
    res.json(await sessions.complete(req.params.session));
  });

  return r;
}
