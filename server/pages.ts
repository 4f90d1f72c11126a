/**
 * The few HTML pages the server renders itself: the participant page shell and the plain message
 * pages a participant sees instead of a stack trace (study not live, link without a Prolific ID,
 * already taken part). No inline script or style: the CSP forbids them. The study's brief for the
 * device check travels as a JSON data block, which is not script and so not subject to the CSP.
 */
import { escapeHtml } from '../experiment/messages.ts';
import type { ExperimentBundle } from './experiment-bundle.ts';
import type { PageBrief } from '../experiment/device-policy.ts';
import { FAVICON_PATH } from './favicon.ts';

// One escaping function for the pages the server renders and those the browser writes.
export { escapeHtml };

function shell(title: string, cssHref: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
<link rel="stylesheet" href="${escapeHtml(cssHref)}">
</head>
<body>
${body}
</body>
</html>
`;
}

/** JSON inside a `<script type="application/json">`: nothing in it may close the element. */
function jsonDataBlock(id: string, value: unknown): string {
  const json = JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return `<script type="application/json" id="${escapeHtml(id)}">${json}</script>`;
}

export function runPage(bundle: ExperimentBundle, title: string, assetPrefix: string, brief?: PageBrief): string {
  return shell(
    title,
    assetPrefix + bundle.css.name,
    `<noscript><main class="message"><h1>JavaScript is needed</h1><p>This study runs in your browser and needs JavaScript. Please enable it and reload the page.</p></main></noscript>
${brief ? jsonDataBlock('metamer-brief', brief) : ''}
<div id="jspsych-target"></div>
<script src="${escapeHtml(assetPrefix + bundle.js.name)}" defer></script>`,
  );
}

export interface MessageLink {
  href: string;
  label: string;
}

/** A code the participant may need on Prolific: shown large, with a Copy button (wired by the page script). */
export interface MessageCode {
  label: string;
  value: string;
}

/** The same markup as the participant page's own code box (experiment/messages.ts). */
function codeBoxHtml(code: MessageCode): string {
  const value = escapeHtml(code.value);
  return `<div class="metamer-code"><label for="metamer-code-value">${escapeHtml(code.label)}</label>
<input id="metamer-code-value" readonly value="${value}" size="${Math.max(8, code.value.length + 2)}" data-code="${value}">
<button type="button" class="jspsych-btn" data-copy="metamer-code-value">Copy</button></div>`;
}

export function messagePage(
  bundle: ExperimentBundle,
  assetPrefix: string,
  heading: string,
  text: string,
  link?: MessageLink,
  code?: MessageCode,
): string {
  const linkHtml = link ? `<a class="jspsych-btn" href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a>` : '';
  const action = link ? `<p class="metamer-actions">${linkHtml}</p>` : '';
  const codeBox = code ? codeBoxHtml(code) : '';
  // The page script only wires the Copy button here (it finds no study to run).
  const script = code ? `\n<script src="${escapeHtml(assetPrefix + bundle.js.name)}" defer></script>` : '';
  return shell(
    heading,
    assetPrefix + bundle.css.name,
    `<main class="message"><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p>${codeBox}${action}</main>${script}`,
  );
}
