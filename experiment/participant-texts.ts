/**
 * The participant-facing texts built from the study and the device: the consent page (the
 * study's own text, or the default of server/study-config.ts) and the task's instructions, which
 * never mention a key the device does not have (a touch-first phone or tablet has no space bar,
 * Enter or arrow keys: it taps).
 */
import type { SessionView } from './contract.ts';
import type { DeviceProfile } from './device-check.ts';
import { escapeHtml } from './messages.ts';

/** Plain text with blank lines between paragraphs → escaped `<p>`s. */
export function paragraphsHtml(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('\n');
}

/** The consent page's body: the study's title and its consent text. */
export function consentHtml(view: SessionView): string {
  return `<h2>${escapeHtml(view.study.title)}</h2>\n${paragraphsHtml(view.study.consent ?? '')}`;
}

const SAVED =
  '<p>The first trials are practice, and tell you whether you were right. Your answers are saved as you go: ' +
  'if you lose your connection or close the page by accident, open the study link again to continue where you were.</p>';

/** "How it works" for this study's task on this device. */
export function instructionsHtml(view: SessionView, device: DeviceProfile | null): string {
  const touch = device?.touch ?? false;
  const choose = touch ? 'tapping' : 'clicking';
  if (view.study.modality === 'image') {
    const start = touch ? '<b>Start trial</b>' : '<b>Start trial</b> (or the space bar)';
    return `<h2>How it works</h2>
<p>On each trial, ${touch ? 'tap' : 'press'} ${start}. A cross appears, then an image for a very short time, then a noise pattern.</p>
<p>Then choose the category the image belongs to by ${choose} one of the buttons.
Some images are hard to recognise: give your best guess.</p>
${SAVED}`;
  }
  const headphones = '<p>Please wear headphones and sit somewhere quiet.</p>';
  if (view.response_mode === 'typed') {
    const pick = touch ? 'tap one of them' : 'pick one with the mouse or the arrow keys and Enter';
    return `<h2>How it works</h2>
${headphones}
<p>On each trial, ${touch ? 'tap' : 'press'} <b>Play</b>. You will hear a short sound once.
Then type the word you heard: suggestions appear as you type; ${pick}. Your answer has to be one of the suggested words.
Some sounds are hard to recognise: give your best guess.</p>
${SAVED}`;
  }
  return `<h2>How it works</h2>
${headphones}
<p>On each trial, ${touch ? 'tap' : 'press'} <b>Play</b>. You will hear a short sound once.
Then choose what you heard by ${choose} one of the buttons. Some sounds are hard to recognise: give your best guess.</p>
${SAVED}`;
}
