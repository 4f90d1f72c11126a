/**
 * The device rules (experiment/device-check.ts) on probes shaped like what real browsers report;
 * test/e2e/devices.test.ts checks that Chromium, emulating each device, reports such probes.
 */
import { describe, expect, it } from 'vitest';
import {
  assessDevice,
  classifyDevice,
  type DeviceProbe,
  requirementText,
  shortfallText,
  windowFits,
} from '../../experiment/device-check.ts';
import { DEVICE_DEFAULTS } from '../../experiment/device-policy.ts';
import { devicePolicyOf, StudyConfig } from '../../server/study-config.ts';

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const IPAD_UA =
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const IPADOS_DESKTOP_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const ANDROID_PHONE_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';
const ANDROID_TABLET_UA = 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const LINUX_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

const touch = { maxTouchPoints: 5, finePointer: false, coarsePointer: true, touchPrimary: true };
const mouse = { maxTouchPoints: 0, finePointer: true, coarsePointer: false, touchPrimary: false };

function probe(p: Partial<DeviceProbe>): DeviceProbe {
  return {
    userAgent: LINUX_UA,
    uaMobile: null,
    screenWidth: 1280,
    screenHeight: 800,
    windowWidth: 1280,
    windowHeight: 800,
    audioChannels: 2,
    fullscreen: true,
    ...mouse,
    ...p,
  };
}

const phone = probe({ userAgent: IPHONE_UA, screenWidth: 390, screenHeight: 844, windowWidth: 390, windowHeight: 844, ...touch });
const tablet = probe({ userAgent: IPAD_UA, screenWidth: 1024, screenHeight: 768, windowWidth: 1024, windowHeight: 768, ...touch });
const laptop = probe({});

describe('device class', () => {
  it('tells phones, tablets and computers apart as Prolific does', () => {
    expect(classifyDevice(phone)).toBe('mobile');
    expect(classifyDevice(tablet)).toBe('tablet');
    expect(classifyDevice(laptop)).toBe('desktop');
    expect(classifyDevice(probe({ userAgent: ANDROID_PHONE_UA, ...touch, screenWidth: 412, screenHeight: 915 }))).toBe('mobile');
    expect(classifyDevice(probe({ userAgent: ANDROID_TABLET_UA, ...touch, screenWidth: 1280, screenHeight: 800 }))).toBe('tablet');
    // iPadOS Safari asks for the desktop site with a Mac user agent; a Mac has no touch points.
    expect(classifyDevice(probe({ userAgent: IPADOS_DESKTOP_UA, ...touch, screenWidth: 1180, screenHeight: 820 }))).toBe('tablet');
    expect(classifyDevice(probe({ userAgent: IPADOS_DESKTOP_UA }))).toBe('desktop');
  });

  it('believes the client hint, and a touch-only device the user agent does not name is judged by its size', () => {
    expect(classifyDevice(probe({ uaMobile: true }))).toBe('mobile');
    expect(classifyDevice(probe({ userAgent: LINUX_UA, ...touch, screenWidth: 360, screenHeight: 740 }))).toBe('mobile');
    expect(classifyDevice(probe({ userAgent: LINUX_UA, ...touch, screenWidth: 1024, screenHeight: 768 }))).toBe('tablet');
    // A touch-screen laptop has a mouse or trackpad too: a computer.
    expect(classifyDevice(probe({ maxTouchPoints: 10, coarsePointer: true }))).toBe('desktop');
  });
});

describe('the default policies', () => {
  it('turn a phone away for its class and its screen, and take a tablet and a laptop, for images and audio', () => {
    for (const modality of ['image', 'audio'] as const) {
      const policy = DEVICE_DEFAULTS[modality];
      expect(assessDevice(phone, policy, modality === 'audio').shortfalls).toEqual(['device', 'screen']);
      expect(assessDevice(tablet, policy, modality === 'audio').shortfalls).toEqual([]);
      expect(assessDevice(laptop, policy, modality === 'audio').shortfalls).toEqual([]);
    }
  });

  it('a tablet is touch (instructions say "tap"); a laptop is not', () => {
    expect(assessDevice(tablet, DEVICE_DEFAULTS.image, false).profile).toEqual({ kind: 'tablet', touch: true });
    expect(assessDevice(laptop, DEVICE_DEFAULTS.image, false).profile).toEqual({ kind: 'desktop', touch: false });
  });

  it('audio needs output, two channels for a headphone check; images need none', () => {
    const mono = probe({ audioChannels: 1 });
    const silent = probe({ audioChannels: 0 });
    expect(assessDevice(mono, DEVICE_DEFAULTS.audio, true).shortfalls).toEqual(['audio']);
    expect(assessDevice(mono, DEVICE_DEFAULTS.audio, false).shortfalls).toEqual([]);
    expect(assessDevice(silent, DEVICE_DEFAULTS.audio, false).shortfalls).toEqual(['audio']);
    expect(assessDevice(silent, DEVICE_DEFAULTS.image, false).shortfalls).toEqual([]);
  });

  it('the screen counts in either orientation; the window in the one it is held in', () => {
    const portrait = probe({ ...tablet, screenWidth: 768, screenHeight: 1024, windowWidth: 768, windowHeight: 1024 });
    expect(assessDevice(portrait, DEVICE_DEFAULTS.image, false).shortfalls).toEqual([]);
    const policy = { ...DEVICE_DEFAULTS.image, min_screen_width: 900, min_screen_height: 600 };
    expect(windowFits(portrait, policy)).toBe(false);
    expect(windowFits({ windowWidth: 1024, windowHeight: 768 }, policy)).toBe(true);
  });

  it('a study that wants a mouse turns a tablet away for its pointer', () => {
    const policy = devicePolicyOf(StudyConfig.parse({ ...config, device: { pointer: 'fine' } }));
    expect(policy).toMatchObject({ pointer: 'fine', devices: ['desktop', 'tablet'], min_screen_width: 640 });
    expect(assessDevice(tablet, policy, false).shortfalls).toEqual(['pointer']);
  });
});

const config = {
  id: 'study',
  stimulus_set: 'set',
  modality: 'image',
  prolific: { completion_code: 'A', screenout_code: 'B' },
  target_completed: 4,
};

describe('what the participant is told', () => {
  it("states the study's own requirement", () => {
    expect(requirementText(DEVICE_DEFAULTS.image, false)).toBe(
      'This study needs a computer or a tablet with a screen of at least 640 × 480 pixels and a mouse, trackpad or touch screen.',
    );
    expect(
      requirementText(
        { ...DEVICE_DEFAULTS.audio, devices: ['desktop'], pointer: 'fine', min_screen_width: 1024, min_screen_height: 700 },
        true,
      ),
    ).toBe(
      'This study needs a computer with a screen of at least 1024 × 700 pixels, a mouse or trackpad and sound through headphones (both ears).',
    );
  });

  it('and what this device lacks', () => {
    const verdict = assessDevice(phone, DEVICE_DEFAULTS.image, false);
    expect(shortfallText(phone, verdict, DEVICE_DEFAULTS.image)).toBe(
      'You seem to be using a phone, and it does not run on a phone; this screen is 390 × 844 pixels.',
    );
  });

  it('a config with an audio study and no audio output is refused', () => {
    const r = StudyConfig.safeParse({ ...config, modality: 'audio', device: { audio_output: false } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['device', 'audio_output']);
    expect(StudyConfig.safeParse({ ...config, device: { devices: [] } }).success).toBe(false);
    expect(StudyConfig.safeParse({ ...config, device: { devices: ['watch'] } }).success).toBe(false);
  });
});
