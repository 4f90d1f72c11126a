/**
 * Does this device fit the study? Judged from what a browser can tell without asking permission:
 * the screen's size, the `pointer`/`any-pointer`/`hover` media queries, touch points, the user
 * agent (and its client hints where the browser has them), and WebAudio's output channels.
 *
 * `probeDevice` reads the browser; everything else is a pure function of the probe, so the rules
 * are unit-tested without a browser (test/unit/device-check.test.ts) and the browser tests check
 * that real Chromium, emulating a phone, a tablet and a laptop, reports what the rules expect.
 */
import type { DeviceClass, DevicePolicy } from './device-policy.ts';

export interface DeviceProbe {
  userAgent: string;
  /** `navigator.userAgentData.mobile` (Chromium, secure contexts); null where the browser has no client hints. */
  uaMobile: boolean | null;
  screenWidth: number;
  screenHeight: number;
  windowWidth: number;
  windowHeight: number;
  maxTouchPoints: number;
  /** `(any-pointer: fine)`: a mouse or trackpad is attached. */
  finePointer: boolean;
  /** `(any-pointer: coarse)`: a touch screen (or another imprecise pointer). */
  coarsePointer: boolean;
  /** `(pointer: coarse)`: the primary pointer is a finger. */
  touchPrimary: boolean;
  /** WebAudio's output channels (`destination.maxChannelCount`); 0 without WebAudio, or when not asked. */
  audioChannels: number;
  /** The page may go full screen (the image protocol's full-screen step makes the window the screen). */
  fullscreen: boolean;
}

/** What the page adapts to once a device is accepted. */
export interface DeviceProfile {
  kind: DeviceClass;
  /** The primary pointer is a finger: say "tap", and never mention keys. */
  touch: boolean;
}

export type Shortfall = 'device' | 'screen' | 'pointer' | 'audio';

export interface DeviceVerdict {
  profile: DeviceProfile;
  /** Empty when the device fits, else every requirement it misses, most basic first. */
  shortfalls: Shortfall[];
}

/**
 * Prolific's device class. The user agent names phones ("iPhone", "Android … Mobile", and "Mobi"
 * as MDN advises) and tablets ("iPad", "Tablet"); iPadOS Safari reports a Mac user agent, told
 * apart by its touch points (a Mac has none). Chromium's client hint `mobile` comes after the
 * Apple names: no iPad browser sends client hints (they are all WebKit), but Chromium's own
 * mobile emulation sets the hint whatever user agent it is given. A touch-first device the user
 * agent does not name is a phone below 600 px on its short side (Android's phone/tablet line).
 */
export function classifyDevice(p: DeviceProbe): DeviceClass {
  const ua = p.userAgent;
  if (/iPhone|iPod/.test(ua)) return 'mobile';
  if (/iPad|Tablet/.test(ua) || (/Macintosh/.test(ua) && p.maxTouchPoints > 1)) return 'tablet';
  if (p.uaMobile === true || (/Android/.test(ua) && /Mobile/.test(ua))) return 'mobile';
  if (/Android/.test(ua)) return 'tablet';
  if (/Mobi/.test(ua)) return 'mobile';
  if (p.touchPrimary && !p.finePointer) return Math.min(p.screenWidth, p.screenHeight) < 600 ? 'mobile' : 'tablet';
  return 'desktop';
}

export function assessDevice(p: DeviceProbe, policy: DevicePolicy, stereo: boolean): DeviceVerdict {
  const kind = classifyDevice(p);
  const shortfalls: Shortfall[] = [];
  if (!policy.devices.includes(kind)) shortfalls.push('device');
  const long = Math.max(p.screenWidth, p.screenHeight);
  const short = Math.min(p.screenWidth, p.screenHeight);
  if (long < policy.min_screen_width || short < policy.min_screen_height) shortfalls.push('screen');
  const pointerOk = policy.pointer === 'fine' ? p.finePointer : p.finePointer || p.coarsePointer;
  if (!pointerOk) shortfalls.push('pointer');
  if (policy.audio_output && p.audioChannels < (stereo ? 2 : 1)) shortfalls.push('audio');
  return { profile: { kind, touch: p.touchPrimary && !p.finePointer }, shortfalls };
}

/** The window (not the screen) is big enough as it is now, in its current orientation. */
export function windowFits(p: Pick<DeviceProbe, 'windowWidth' | 'windowHeight'>, policy: DevicePolicy): boolean {
  return p.windowWidth >= policy.min_screen_width && p.windowHeight >= policy.min_screen_height;
}

const CLASS_WORDS: Record<DeviceClass, string> = { desktop: 'a computer', tablet: 'a tablet', mobile: 'a phone' };

function orList(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** The study's actual requirement, in one sentence a participant can act on. */
export function requirementText(policy: DevicePolicy, stereo: boolean): string {
  const needs = [
    `a screen of at least ${policy.min_screen_width} × ${policy.min_screen_height} pixels`,
    policy.pointer === 'fine' ? 'a mouse or trackpad' : 'a mouse, trackpad or touch screen',
  ];
  if (policy.audio_output) needs.push(stereo ? 'sound through headphones (both ears)' : 'sound (headphones or speakers)');
  const devices = policy.devices.map((d) => CLASS_WORDS[d]);
  return `This study needs ${orList(devices)} with ${needs.slice(0, -1).join(', ')} and ${needs[needs.length - 1]}.`;
}

/** What this device lacks, in the participant's terms. */
export function shortfallText(p: DeviceProbe, verdict: DeviceVerdict, policy: DevicePolicy): string {
  const kind = CLASS_WORDS[verdict.profile.kind];
  const parts: string[] = [];
  for (const s of verdict.shortfalls) {
    if (s === 'device') parts.push(`it does not run on ${kind}`);
    if (s === 'screen') parts.push(`this screen is ${p.screenWidth} × ${p.screenHeight} pixels`);
    if (s === 'pointer') {
      parts.push(policy.pointer === 'fine' ? 'no mouse or trackpad was found' : 'no mouse, trackpad or touch screen was found');
    }
    if (s === 'audio') {
      parts.push(p.audioChannels === 0 ? 'this browser cannot play sound the way the study needs' : 'this device has one sound channel');
    }
  }
  return `You seem to be using ${kind}, and ${parts.join('; ')}.`;
}

/**
 * Reads the browser, asking no permission. Only for a study that needs sound does it make an
 * AudioContext to read its output channels: made without a user gesture it stays suspended (it
 * plays nothing) and is closed at once.
 */
export async function probeDevice(w: Window, opts: { audio: boolean }): Promise<DeviceProbe> {
  const mm = (q: string) => w.matchMedia?.(q).matches ?? false;
  const nav = w.navigator as Navigator & { userAgentData?: { mobile?: boolean } };
  let audioChannels = 0;
  const g = w as Window & typeof globalThis & { webkitAudioContext?: typeof AudioContext };
  const Ctx = g.AudioContext ?? g.webkitAudioContext;
  if (opts.audio && Ctx) {
    try {
      // Creating a context without a user gesture is allowed (it starts suspended); it plays nothing.
      const ctx = new Ctx();
      audioChannels = ctx.destination.maxChannelCount;
      await ctx.close().catch(() => {});
    } catch {
      audioChannels = 0;
    }
  }
  const doc = w.document as Document & { webkitFullscreenEnabled?: boolean };
  return {
    userAgent: nav.userAgent,
    uaMobile: typeof nav.userAgentData?.mobile === 'boolean' ? nav.userAgentData.mobile : null,
    screenWidth: w.screen.width,
    screenHeight: w.screen.height,
    windowWidth: w.innerWidth,
    windowHeight: w.innerHeight,
    maxTouchPoints: nav.maxTouchPoints ?? 0,
    finePointer: mm('(any-pointer: fine)'),
    coarsePointer: mm('(any-pointer: coarse)'),
    touchPrimary: mm('(pointer: coarse)'),
    audioChannels,
    fullscreen: Boolean(doc.fullscreenEnabled ?? doc.webkitFullscreenEnabled),
  };
}
