/**
 * Questions sit above the buttons that answer them. jsPsych's button plugins write their `prompt`
 * after the button group, so a trial whose prompt is a `.metamer-question` moves it up on load.
 */
import { escapeHtml } from './messages.ts';

export function questionHtml(text: string): string {
  return `<p class="metamer-question">${escapeHtml(text)}</p>`;
}

export function questionAboveButtons(display: ParentNode, groupId: string): void {
  const group = display.querySelector(`#${groupId}`);
  const question = group?.parentElement?.querySelector(':scope > .metamer-question');
  if (group && question) group.before(question);
}
