/**
 * The device check that runs before consent and before any session exists (main.ts calls it
 * before starting the session), so a participant turned away holds no Latin-square slot.
 *
 * A device that cannot fit the study gets one page stating the study's actual requirement and a
 * link to return the study on Prolific (Prolific's own flow for a participant who cannot take
 * part: return, rather than submit without a code), and the server counts the turn-away once per
 * pseudonymous participant. A fitting device in a window that is too small (a desktop browser not
 * maximised, a tablet held the wrong way) is asked to enlarge or turn it, and goes on by itself
 * once it fits; "I cannot make it larger" is a turn-away too.
 */
import type { PageBrief } from './device-policy.ts';
import type { TurnAwayReason } from './contract.ts';
import { assessDevice, type DeviceProfile, probeDevice, requirementText, shortfallText, windowFits } from './device-check.ts';
import { showPage } from './messages.ts';

/** The study's brief, written into the run page by the server (no session needed to read it). */
export function readBrief(doc: Document): PageBrief | null {
  const el = doc.getElementById('metamer-brief');
  if (!el?.textContent) return null;
  try {
    return JSON.parse(el.textContent) as PageBrief;
  } catch {
    return null;
  }
}

export const CANNOT_ENLARGE_ID = 'metamer-cannot-enlarge';

/** Resolves with the device's profile when it fits, or null after showing the turn-away page. */
export async function deviceGate(target: HTMLElement, brief: PageBrief, prolificPid: string): Promise<DeviceProfile | null> {
  const w = target.ownerDocument.defaultView!;
  const probe = await probeDevice(w, { audio: brief.device.audio_output });
  const verdict = assessDevice(probe, brief.device, brief.stereo);
  if (verdict.shortfalls.length > 0) {
    turnAway(target, brief, prolificPid, verdict.shortfalls[0]!, shortfallText(probe, verdict, brief.device));
    return null;
  }
  // The image protocol's full-screen step makes the window the screen, which has just been checked.
  const fullScreenFollows = brief.modality === 'image' && probe.fullscreen;
  if (!fullScreenFollows && !windowFits(probe, brief.device)) {
    const fits = await waitForWindow(target, brief, verdict.profile);
    if (!fits) {
      turnAway(target, brief, prolificPid, 'window', `Your browser window is ${w.innerWidth} × ${w.innerHeight} pixels.`);
      return null;
    }
  }
  target.replaceChildren();
  return verdict.profile;
}

function turnAway(target: HTMLElement, brief: PageBrief, prolificPid: string, reason: TurnAwayReason, what: string): void {
  const main = showPage(target, {
    heading: 'This study cannot run on this device',
    paragraphs: [
      requirementText(brief.device, brief.stereo),
      what,
      'Please return the study on Prolific: it costs you nothing and frees your place for someone else. ' +
        'In the Prolific tab, click “Cancel participation”, or use the button below. ' +
        'If you have a device that fits, you may open the study link on it instead.',
      ...(brief.preview ? ['(Preview: this turn-away is not counted.)'] : []),
    ],
    link: { href: brief.return_url, label: 'Return the study on Prolific' },
  });
  main.dataset.turnedAway = reason;
  if (brief.preview) return;
  // Best effort, once per page: the count is for the experimenter, the page above is what matters.
  void fetch(`/api/studies/${encodeURIComponent(brief.study)}/turn-aways`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prolific_pid: prolificPid, reason }),
    keepalive: true,
  }).catch(() => {});
}

/** Asks for a larger window (or a turn of the device); true once it fits, false if the participant gives up. */
function waitForWindow(target: HTMLElement, brief: PageBrief, profile: DeviceProfile): Promise<boolean> {
  const w = target.ownerDocument.defaultView!;
  const { min_screen_width: minW, min_screen_height: minH } = brief.device;
  return new Promise((resolve) => {
    const render = () => {
      const sideways = profile.touch && w.innerHeight >= minW && w.innerWidth >= minH;
      showPage(target, {
        heading: sideways ? 'Please turn your device sideways' : 'Your browser window is too small',
        paragraphs: [
          sideways
            ? `This study needs the screen held in landscape (at least ${minW} × ${minH} pixels).`
            : `Please enlarge it to at least ${minW} × ${minH} pixels (it is now ${w.innerWidth} × ${w.innerHeight}).`,
          'The study goes on by itself as soon as it fits.',
        ],
        buttons: [{ id: CANNOT_ENLARGE_ID, label: profile.touch ? 'It does not fit' : 'I cannot make the window any larger' }],
      });
      target.querySelector(`#${CANNOT_ENLARGE_ID}`)!.addEventListener('click', () => finish(false));
    };
    const onResize = () => {
      if (windowFits({ windowWidth: w.innerWidth, windowHeight: w.innerHeight }, brief.device)) finish(true);
      else render();
    };
    const finish = (fits: boolean) => {
      w.removeEventListener('resize', onResize);
      resolve(fits);
    };
    w.addEventListener('resize', onResize);
    render();
  });
}
