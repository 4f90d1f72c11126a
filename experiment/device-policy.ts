/**
 * What a study needs from a participant's device (the study config's `device`), checked by the
 * participant page before consent and before any session exists (device-check.ts). The server
 * validates configs with this schema; the browser bundle imports only its types (no zod there).
 *
 * The device classes are Prolific's own ("device compatibility": desktop, tablet, mobile), so an
 * experimenter ticks the same boxes on Prolific. Prolific only *tells* participants about them
 * and does not enforce them, which is why the page checks.
 */
import { z } from 'zod';

export const DeviceClass = z.enum(['desktop', 'tablet', 'mobile']);
export type DeviceClass = z.infer<typeof DeviceClass>;

export const DevicePolicy = z.strictObject({
  /** Prolific's device classes this study accepts. */
  devices: z.array(DeviceClass).min(1),
  /**
   * The smallest screen, in CSS pixels, held in landscape: the screen's longer side must be at
   * least `min_screen_width` and its shorter side at least `min_screen_height`.
   */
  min_screen_width: z.number().int().min(0).max(10_000),
  min_screen_height: z.number().int().min(0).max(10_000),
  /** `any`: a mouse, trackpad or touch screen; `fine`: a mouse or trackpad (no touch-only devices). */
  pointer: z.enum(['any', 'fine']),
  /** Sound through WebAudio (two channels when the study has a headphone check). */
  audio_output: z.boolean(),
});
export type DevicePolicy = z.infer<typeof DevicePolicy>;

/**
 * Defaults per modality. 640 × 480 holds the 224 px image stage, the question and four columns of
 * 16 answer buttons without scrolling (the layout of image-trial.ts and style.css); a phone's
 * shorter side (about 360–430 px) does not, so phones are not offered by default either.
 */
export const DEVICE_DEFAULTS: Record<'image' | 'audio', DevicePolicy> = {
  image: { devices: ['desktop', 'tablet'], min_screen_width: 640, min_screen_height: 480, pointer: 'any', audio_output: false },
  audio: { devices: ['desktop', 'tablet'], min_screen_width: 640, min_screen_height: 480, pointer: 'any', audio_output: true },
};

/** What the participant page is told before a session exists: the policy and how to describe it. */
export interface PageBrief {
  study: string;
  modality: 'image' | 'audio';
  title: string;
  device: DevicePolicy;
  /** The headphone check plays different sounds to the two ears: it needs two output channels. */
  stereo: boolean;
  /** Where a participant turned away goes to return the study (Prolific's submissions page). */
  return_url: string;
  /** An experimenter's preview: turn-aways are shown but not counted. */
  preview: boolean;
}
