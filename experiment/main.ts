/**
 * The participant page's entry point: check the device against the study's needs (before any
 * session exists, so a device turned away holds no slot), start (or resume) the session from the
 * Prolific parameters in the URL, then run the timeline. The server owns the plan; this page only
 * shows it. On the server's own message pages (already completed…) it only wires the copy buttons.
 */
import { initJsPsych } from 'jspsych';
import { ApiError, sendPageReport, startSession } from './api.ts';
import { automationSigns } from './automation-signs.ts';
import { trackTrialEvidence } from './trial-evidence.ts';
import { SavingQueue } from './saving-queue.ts';
import { Prefetcher } from './prefetch.ts';
import { buildTimeline } from './timeline.ts';
import { showMessage, wireCopyButtons } from './messages.ts';
import { deviceGate, readBrief } from './device-gate.ts';
import { showExit } from './exit-page.ts';

function redirect(url: string): void {
  window.location.assign(url);
}

/**
 * The session's resume key, kept in this browser (server/session-ownership.ts): a reload, a second
 * tab or a reopened tab continues the session even when the link carries no Prolific SESSION_ID.
 */
function resumeKeyStore(studyId: string, pid: string) {
  const key = `metamer-resume:${studyId}:${pid}`;
  return {
    get(): string | undefined {
      try {
        return window.localStorage.getItem(key) ?? undefined;
      } catch {
        return undefined;
      }
    },
    set(value: string): void {
      try {
        window.localStorage.setItem(key, value);
      } catch {
        // Storage disabled (some private modes): resuming then needs the link's SESSION_ID.
      }
    },
  };
}

async function main(): Promise<void> {
  wireCopyButtons(document);
  const target = document.getElementById('jspsych-target');
  if (!target) return;
  const studyId = decodeURIComponent(window.location.pathname.split('/')[2] ?? '');
  const q = new URLSearchParams(window.location.search);
  const pid = q.get('PROLIFIC_PID') ?? '';
  const brief = readBrief(document);
  const device = brief ? await deviceGate(target, brief, pid) : null;
  if (brief && !device) return;
  const resume = resumeKeyStore(studyId, pid);

  let view: Awaited<ReturnType<typeof startSession>>;
  try {
    view = await startSession(
      studyId,
      {
        prolific_pid: pid,
        prolific_study_id: q.get('STUDY_ID') || undefined,
        prolific_session_id: q.get('SESSION_ID') || undefined,
        resume_key: resume.get(),
      },
      (attempt) =>
        showMessage(
          target,
          'Connecting to the study…',
          `The study server does not answer yet (attempt ${attempt}). Please keep this page open; it will go on by itself.`,
        ),
    );
  } catch (e) {
    const text = e instanceof ApiError ? e.body.error : 'The study could not start. Please reload the page.';
    return showMessage(target, 'The study cannot start', text);
  }
  // This browser may resume this session from now on, with or without the same SESSION_ID.
  resume.set(view.resume_key);
  if (view.redirect_url) {
    return showExit(target, { heading: 'Thank you', paragraphs: ['This session has ended.'], url: view.redirect_url, redirect });
  }

  const queue = new SavingQueue(`/api/sessions/${view.session}/trials`, `metamer-queue:${view.session}`, {
    storage: (() => {
      try {
        return window.localStorage;
      } catch {
        return null;
      }
    })(),
    fetch: window.fetch.bind(window),
    sendBeacon: navigator.sendBeacon ? (url, data) => navigator.sendBeacon(url, data) : null,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (h) => window.clearTimeout(h as number),
    random: Math.random,
  });
  window.addEventListener('pagehide', () => queue.beaconAll());
  // Mobile Safari may never fire pagehide for a tab sent to the background and discarded.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') queue.beaconAll();
  });
  window.addEventListener('online', () => queue.kick());
  // Records left from before a reload go out now, not after the next trial.
  queue.kick();

  const banner = document.createElement('div');
  banner.className = 'metamer-connection';
  banner.setAttribute('role', 'status');
  document.body.append(banner);
  queue.onStatus((s) => {
    banner.textContent = s.retrying ? `Connection problem: ${s.pending} answer(s) kept on this computer and sent as soon as possible.` : '';
    banner.classList.toggle('visible', s.retrying);
  });

  const done = new Set([...view.answered, ...queue.pendingIndices()]);
  const jsPsych = initJsPsych({
    display_element: target,
    show_progress_bar: true,
    auto_update_progress_bar: false,
    message_progress_bar: 'Progress',
  });
  // Evidence (docs/integrity.md): image studies run full screen where the browser can (not Safari on
  // iPhone: no Fullscreen API for elements); sounds play through jsPsych's context.
  trackTrialEvidence({
    fullscreen: view.study.modality === 'image' && document.fullscreenEnabled === true,
    audioContext: () => jsPsych.pluginAPI.audioContext(),
  });
  sendPageReport(view.session, automationSigns()).catch(() => {});
  const prefetcher = new Prefetcher(window.fetch.bind(window));
  await jsPsych.run(buildTimeline({ jsPsych, view, queue, prefetcher, done, redirect, device }));
}

void main();
