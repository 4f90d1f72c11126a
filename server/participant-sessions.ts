/**
 * The participant's session and its state machine:
 *
 *   started ──(all planned trials stored, /complete)──▶ completed
 *      │ ╰───(headphone check or screening below threshold: session-gates.ts)──▶ screened_out
 *      ╰─────(no trial for a while; see abandonment)──▶ abandoned ──(a trial arrives)──▶ started
 *
 * Correctness is computed here, from the stored plan: the browser never holds an answer before its
 * response is stored (practice answers come back in the acknowledgement of the stored practice
 * response). Trials arriving earlier than the protocol allows are refused (pacing.ts), and a
 * session is returned only to the submission that started it (session-ownership.ts).
 */
import { randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { HttpError } from './http-error.ts';
import { participantId } from './participant-id.ts';
import { buildSessionPlan, GENERATED_PREFIX, type PlannedTrial, studyDesign, type StudyDesign } from './session-plan.ts';
import { completionWait, pacingWait } from './pacing.ts';
import { otherSubmission, ownsSession, participantIdProblem, resumeKey } from './session-ownership.ts';
import { STIMULUS_PREFIX } from './stimulus-files.ts';
import type { StimulusKeys } from './stimulus-keys.ts';
import type { SessionRow, Store, StudyRow } from './store/store.ts';
import { consentOf, participantTitle, questionOf, type StudyConfig } from './study-config.ts';
import type { Manifest } from '../stimuli/manifest.ts';
import { headphoneKit, type HeadphoneStimulusSource } from './headphone-stimuli.ts';
import { failedGate, gatesOf, scoreGate } from './session-gates.ts';
import {
  type ClientPhase,
  type ClientTrial,
  type CompletionResult,
  type GatePhase,
  type GateResult,
  type SessionStartRequest,
  type SessionView,
  type TrialAck,
  TrialRecord,
  type TurnAwayReport,
} from '../experiment/contract.ts';
import { isTryItToken, tryItPath } from './try-it-links.ts';

export function redirectUrl(config: StudyConfig, code: string): string {
  const url = new URL(config.prolific.complete_url);
  url.searchParams.set('cc', code);
  return url.toString();
}

/** Where an experimenter's preview ends: back on the dashboard, never on Prolific. */
export function previewReturnUrl(studyId: string, outcome: 'completed' | 'screened_out'): string {
  return `/admin/studies/${encodeURIComponent(studyId)}?preview=${outcome}`;
}

/** The end of a session: Prolific with the outcome's code, or the dashboard for a preview. */
export function exitUrl(config: StudyConfig, s: Pick<SessionRow, 'study_id' | 'preview'>, outcome: 'completed' | 'screened_out'): string {
  if (s.preview) return previewReturnUrl(s.study_id, outcome);
  return redirectUrl(config, outcome === 'completed' ? config.prolific.completion_code : config.prolific.screenout_code);
}

function endedRedirect(config: StudyConfig, s: SessionRow): string | null {
  if (s.state === 'completed' || s.state === 'screened_out') return exitUrl(config, s, s.state);
  return null;
}

/** 425 Too Early: the saving queue and the page's API calls retry it later (pacing.ts). */
function tooEarly(what: string, waitMs: number): HttpError {
  const ms = Math.ceil(waitMs);
  return new HttpError(425, 'too_early', `${what}; it is accepted in ${(ms / 1000).toFixed(1)} s`, { retry_after_ms: ms });
}

/** Preview "Prolific IDs" are made up here; real ones never start like this (24 hex characters). */
export const PREVIEW_PID_PREFIX = 'preview-';

interface StudyContext {
  study: StudyRow;
  manifest: Manifest;
  design: StudyDesign;
}

export interface ParticipantOptions {
  participantKey: Buffer;
  /** Public URL prefix of stimulus files (a CDN, or `/stimuli/` on this server). */
  stimulusBaseUrl: string;
  /** The deployment's stimulus-name key: every URL a participant sees is keyed (stimulus-keys.ts). */
  stimulusKeys: StimulusKeys;
  /** Writes the headphone-check sounds into the blob store; needed by audio studies with a check. */
  headphoneStimuli?: HeadphoneStimulusSource;
}

/** The study's headphone test, if it has one (configs stored before the check existed have none). */
function headphoneTestOf(config: StudyConfig) {
  const test = config.protocol.headphone_check ?? 'none';
  return config.modality === 'audio' && test !== 'none' ? test : null;
}

export class ParticipantSessions {
  /** Study configs and sets change only through the CLI/dashboard, which call `forget`. */
  private readonly studies = new Map<string, StudyContext>();

  constructor(
    private readonly store: Store,
    private readonly opts: ParticipantOptions,
  ) {}

  forget(studyId?: string): void {
    if (studyId) this.studies.delete(studyId);
    else this.studies.clear();
  }

  /**
   * The study, its set and design, cached while the study row is unchanged. Checked on every
   * request (the CLI may pause a study under a running server); `version` is the study's
   * `updated_at` when the caller has already read it (a session row carries it).
   */
  async studyContext(studyId: string, knownVersion?: number): Promise<StudyContext | undefined> {
    const cached = this.studies.get(studyId);
    const version = knownVersion ?? (await this.store.studyUpdatedAt(studyId));
    if (version === undefined) return undefined;
    if (cached && cached.study.updated_at === version) return cached;
    const study = await this.store.getStudy(studyId);
    if (!study) return undefined;
    const manifest = await this.store.getStimulusSet(study.set_name);
    if (!manifest) throw new Error(`study ${studyId} refers to missing stimulus set ${study.set_name}`);
    const headphoneTest = headphoneTestOf(study.config);
    if (headphoneTest) {
      if (!this.opts.headphoneStimuli)
        throw new Error(`study ${studyId} has a headphone check, but the server has no headphoneStimuli to write its sounds`);
      await this.opts.headphoneStimuli.ensure(headphoneTest);
    }
    const ctx = { study, manifest, design: studyDesign(study.config, manifest) };
    this.studies.set(studyId, ctx);
    return ctx;
  }

  async start(studyId: string, req: SessionStartRequest, userAgent?: string): Promise<SessionView> {
    const ctx = await this.studyContext(studyId);
    if (!ctx) throw new HttpError(404, 'no_study', 'There is no such study. Please check the link you were given.');
    const { study, manifest, design } = ctx;
    const config = study.config;
    const preview = req.prolific_pid.startsWith(PREVIEW_PID_PREFIX);
    const problem = preview ? null : participantIdProblem(config.prolific.id_format, req.prolific_pid);
    if (problem) throw new HttpError(400, 'invalid_pid', problem);
    if (preview) {
      // Preview IDs are made by startPreview only: this route resumes them and never creates one.
      const existing = await this.store.findSession(studyId, req.prolific_pid);
      if (!existing?.preview) throw new HttpError(404, 'no_preview', 'There is no such preview. Start a new one from the dashboard.');
      return this.view(ctx, existing);
    }
    const outcome = await this.store.startSession({
      studyId,
      prolificPid: req.prolific_pid,
      participantId: participantId(this.opts.participantKey, studyId, req.prolific_pid),
      prolificStudyId: req.prolific_study_id,
      prolificSessionId: req.prolific_session_id,
      userAgent,
      preview: false,
      // Participants already in a session may always resume, whatever the study's status now.
      acceptNew: study.status === 'live',
      targetCompleted: config.target_completed,
      makePlan: (slot) => buildSessionPlan(config, manifest, slot, design),
    });
    if (outcome.kind === 'not_accepting') {
      throw new HttpError(403, 'not_live', 'This study is not taking new participants at the moment. Please return it on Prolific.');
    }
    if (outcome.kind === 'full') {
      throw new HttpError(
        403,
        'full',
        'This study has all the participants it needs. Please return it on Prolific. Thank you for your interest!',
      );
    }
    if (outcome.kind === 'existing' && !ownsSession(this.opts.participantKey, outcome.session, req)) throw otherSubmission();
    return this.view(ctx, outcome.session);
  }

  /** Whether a request with this claim may have the session (for the participant page's own checks). */
  owns(session: SessionRow, claim: Pick<SessionStartRequest, 'prolific_session_id' | 'resume_key'>): boolean {
    return ownsSession(this.opts.participantKey, session, claim);
  }

  /** The URL a participant's browser loads a plan file from: keyed, never the content hash. */
  private stimulusUrl(file: string): string {
    const keys = this.opts.stimulusKeys;
    if (file.startsWith(GENERATED_PREFIX)) {
      // Made per session by this server (headphone-stimuli.ts), so never on a static host.
      return STIMULUS_PREFIX + keys.generatedName(Buffer.from(file.slice(GENERATED_PREFIX.length, -'.wav'.length), 'hex'));
    }
    return this.opts.stimulusBaseUrl + keys.publicName(file);
  }

  /**
   * The experimenter's own run of a study (dashboard, `metamer study preview-url`): any status,
   * never refused by the target, holds no Latin-square slot, and is left out of counts, analysis
   * and exports (`preview = 1`). The page is the participants' page, reached with a made-up PID.
   */
  async startPreview(studyId: string): Promise<{ session: SessionRow; prolificPid: string }> {
    const ctx = await this.studyContext(studyId);
    if (!ctx) throw new HttpError(404, 'no_study', `There is no study "${studyId}".`);
    const { study, manifest, design } = ctx;
    const prolificPid = PREVIEW_PID_PREFIX + randomBytes(12).toString('base64url');
    const outcome = await this.store.startSession({
      studyId,
      prolificPid,
      participantId: participantId(this.opts.participantKey, studyId, prolificPid),
      preview: true,
      acceptNew: true,
      targetCompleted: study.config.target_completed,
      makePlan: (slot) => buildSessionPlan(study.config, manifest, slot, design),
    });
    if (outcome.kind !== 'created') throw new Error(`preview session for ${studyId} was not created (${outcome.kind})`);
    return { session: outcome.session, prolificPid };
  }

  /** `metamer serve`'s "try it" link for a study (try-it-links.ts). */
  tryItPath(studyId: string): string {
    return tryItPath(this.opts.participantKey, studyId);
  }

  /** Opens a "try it" link: a preview run, or undefined for a link this server did not make. */
  async startTryIt(studyId: string, token: string): Promise<{ prolificPid: string } | undefined> {
    if (!isTryItToken(this.opts.participantKey, studyId, token) || !(await this.studyContext(studyId))) return undefined;
    return { prolificPid: (await this.startPreview(studyId)).prolificPid };
  }

  /**
   * The device check turned this participant away before any session existed: counted once per
   * pseudonymous participant and study (the raw Prolific ID is not stored), only while the study
   * is live, never for previews. Answers the same whatever happened, so a caller learns nothing.
   */
  async recordTurnAway(studyId: string, report: TurnAwayReport): Promise<void> {
    const ctx = await this.studyContext(studyId);
    if (!ctx) throw new HttpError(404, 'no_study', 'There is no such study. Please check the link you were given.');
    if (report.prolific_pid.startsWith(PREVIEW_PID_PREFIX)) return;
    const problem = participantIdProblem(ctx.study.config.prolific.id_format, report.prolific_pid);
    if (problem) throw new HttpError(400, 'invalid_turn_away', problem);
    if (ctx.study.status !== 'live') return;
    await this.store.recordTurnAway({
      studyId,
      participantId: participantId(this.opts.participantKey, studyId, report.prolific_pid),
      reason: report.reason,
      at: Date.now(),
    });
  }

  async view(ctx: StudyContext, session: SessionRow): Promise<SessionView> {
    const config = ctx.study.config;
    const trials: ClientTrial[] = session.plan.trials.map((t) => {
      // The page needs to know practice (feedback) and the headphone check; nothing else (catch trials look like the rest).
      const phase: ClientPhase = t.phase === 'practice' || t.phase === 'headphone' ? t.phase : 'test';
      const c: ClientTrial = { index: t.index, phase, stimulus: this.stimulusUrl(t.file) };
      if (t.mask) c.mask = this.stimulusUrl(t.mask);
      if (t.stimulus_ms !== undefined) c.stimulus_ms = t.stimulus_ms;
      if (t.choices) c.choices = t.choices;
      return c;
    });
    const headphoneTest = headphoneTestOf(config);
    const headphoneLast = session.plan.headphoneLastIndex ?? null;
    return {
      session: session.id,
      resume_key: resumeKey(this.opts.participantKey, session.id),
      study: {
        id: ctx.study.id,
        title: participantTitle(config),
        modality: config.modality,
        question: questionOf(config),
        consent: consentOf(config),
      },
      state: session.state,
      choices: ctx.manifest.categories,
      timing: {
        blank_ms: config.timing.blank_ms,
        fixation_ms: config.timing.fixation_ms,
        stimulus_ms: config.timing.stimulus_ms,
        mask_ms: config.timing.mask_ms,
      },
      trials,
      answered: await this.store.answeredIndices(session.id),
      screening_last_index: session.plan.screeningLastIndex,
      gates_passed: session.screening_passed,
      rest_after: session.plan.restAfter,
      redirect_url: endedRedirect(config, session),
      headphone:
        headphoneTest && headphoneLast !== null
          ? { test: headphoneTest, calibration: this.stimulusUrl(headphoneKit(headphoneTest).calibration.file), last_index: headphoneLast }
          : null,
      response_mode:
        config.modality === 'audio' && ctx.manifest.categories.length > (config.protocol.typed_response_above ?? 20) ? 'typed' : 'buttons',
    };
  }

  private async sessionWithStudy(sessionId: string): Promise<{ session: SessionRow; ctx: StudyContext }> {
    const session = await this.store.getSession(sessionId);
    if (!session) throw new HttpError(404, 'no_session', 'Unknown session.');
    const ctx = await this.studyContext(session.study_id, session.study_updated_at);
    if (!ctx) throw new HttpError(404, 'no_study', 'Unknown study.');
    return { session, ctx };
  }

  async recordTrial(sessionId: string, body: unknown): Promise<TrialAck> {
    const parsed = TrialRecord.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, 'invalid_trial', `trial record: ${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const record = parsed.data;
    const { session, ctx } = await this.sessionWithStudy(sessionId);
    const planned: PlannedTrial | undefined = session.plan.trials[record.trial_index];
    if (!planned)
      throw new HttpError(
        400,
        'no_such_trial',
        `trial_index ${record.trial_index} is not in this session's plan (0…${session.n_trials - 1})`,
      );
    const gates = gatesOf(session.plan, ctx.study.config);
    if (session.state === 'screened_out') {
      // Late copies of the failed gate's trials are still answered; nothing after it is taken.
      const failed = gates.length > 1 ? failedGate(gates, await this.storedTrials(session.id)) : gates[0];
      if (!failed || record.trial_index > failed.lastIndex) {
        throw new HttpError(410, 'screened_out', 'This session ended at the screening.', {
          redirect_url: exitUrl(ctx.study.config, session, 'screened_out'),
        });
      }
    }
    const now = Date.now();
    const wait = pacingWait(session.plan, session.started_at, planned.index, now);
    if (wait > 0) {
      await this.store.recordPacingViolation(session.id);
      throw tooEarly(`trial ${planned.index} arrived earlier than the study's timing allows`, wait);
    }
    for (const [i, g] of gates.entries()) {
      if (record.trial_index <= g.lastIndex || session.screening_passed === true) break;
      // The last gate must have been asked (it records the decision); an earlier one passes as
      // soon as its stored trials pass, since asking it changes nothing.
      const passed = i < gates.length - 1 && scoreGate(g, await this.storedTrials(session.id)).passed === true;
      // Out of order (a trial after the gate before the gate was asked): the queue retries later.
      if (!passed) throw new HttpError(425, 'screening_pending', 'The screening result is not settled yet.');
    }
    if (record.response !== null && !(planned.choices ?? ctx.manifest.categories).includes(record.response)) {
      throw new HttpError(
        400,
        'invalid_response',
        `response "${record.response}" is not one of ${planned.choices ? "this trial's" : "the study's"} choices`,
      );
    }
    const outcome = await this.store.saveTrial({
      session_id: session.id,
      trial_index: planned.index,
      phase: planned.phase,
      stimulus_id: planned.stimulus_id,
      source_id: planned.source_id,
      category: planned.category,
      model: planned.model,
      layer: planned.layer,
      layer_index: planned.layer_index,
      fallback_for: planned.fallback_for ?? null,
      response: record.response,
      correct: record.response === planned.category ? 1 : 0,
      rt_ms: record.rt_ms,
      data: canonicalJson(record),
      received_at: now,
    });
    if (outcome === 'conflict') {
      throw new HttpError(
        409,
        'conflict',
        `trial ${record.trial_index} is already stored with different content; the stored record stands`,
      );
    }
    // Practice feedback: the answer is told only now that the response is stored.
    if (planned.phase === 'practice')
      return { stored: outcome, feedback: { correct: record.response === planned.category, answer: planned.category } };
    return { stored: outcome };
  }

  private async storedTrials(sessionId: string) {
    return new Map((await this.store.trialsOfSession(sessionId)).map((t) => [t.trial_index, t]));
  }

  /**
   * A gate (session-gates.ts): idempotent; decided when every trial of it (and of the gates before
   * it) is stored. `screening_passed` holds the session's verdict: false once any gate failed, true
   * once the last gate passed, null in between.
   */
  async gate(sessionId: string, phase: GatePhase): Promise<GateResult> {
    const { session, ctx } = await this.sessionWithStudy(sessionId);
    const config = ctx.study.config;
    const gates = gatesOf(session.plan, config);
    const upTo = gates.findIndex((g) => g.phase === phase);
    if (upTo < 0) throw new HttpError(404, 'no_such_gate', `this session's plan has no ${phase} gate`);
    if (session.screening_passed !== null) {
      return { passed: session.screening_passed, redirect_url: session.screening_passed ? null : endedRedirect(config, session) };
    }
    const stored = await this.storedTrials(session.id);
    for (const g of gates.slice(0, upTo + 1)) {
      const score = scoreGate(g, stored);
      if (score.passed === null) {
        throw new HttpError(409, 'incomplete', `${g.phase} trials not stored yet: ${score.missing.join(', ')}`, { missing: score.missing });
      }
      if (!score.passed) {
        await this.store.setScreening(session.id, false, Date.now());
        return { passed: false, redirect_url: exitUrl(config, session, 'screened_out') };
      }
    }
    if (upTo === gates.length - 1) await this.store.setScreening(session.id, true, Date.now());
    return { passed: true, redirect_url: null };
  }

  /** Completion: every planned trial must be stored; only then is the completion code given. */
  async complete(sessionId: string): Promise<CompletionResult> {
    const { session, ctx } = await this.sessionWithStudy(sessionId);
    const config = ctx.study.config;
    if (session.state === 'screened_out') {
      throw new HttpError(410, 'screened_out', 'This session ended at the screening.', {
        redirect_url: exitUrl(config, session, 'screened_out'),
      });
    }
    if (session.state !== 'completed') {
      const answered = new Set(await this.store.answeredIndices(session.id));
      const missing = session.plan.trials.filter((t) => !answered.has(t.index)).map((t) => t.index);
      if (missing.length > 0) {
        throw new HttpError(409, 'incomplete', `${missing.length} planned trials are not stored yet`, { missing: missing.slice(0, 50) });
      }
      const wait = completionWait(session.plan, session.started_at, Date.now());
      if (wait > 0) {
        await this.store.recordPacingViolation(session.id);
        throw tooEarly('the study cannot be completed yet: less time has passed since it started than its trials take', wait);
      }
      await this.store.completeSession(session.id, Date.now());
    }
    return { redirect_url: exitUrl(config, session, 'completed') };
  }
}
