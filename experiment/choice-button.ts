/**
 * A response button for one label. jsPsych's button plugins insert `button_html(choice)` as HTML
 * and their default puts the label in unescaped, so a category named `<img src=x onerror=…>` in a
 * stimulus set would become markup in every participant's page; here it is always text.
 */
import { escapeHtml } from './messages.ts';

export function choiceButton(choice: string): string {
  return `<button class="jspsych-btn">${escapeHtml(choice)}</button>`;
}
