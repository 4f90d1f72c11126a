/**
 * The few HTML pages the server renders itself: the participant page shell and the plain message
 * pages a participant sees instead of a stack trace (study not live, link without a Prolific ID,
 * already taken part). No inline script or style: the CSP forbids them.
 */
import { escapeHtml } from '../experiment/messages.ts';
import type { ExperimentBundle } from './experiment-bundle.ts';

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
<link rel="stylesheet" href="${escapeHtml(cssHref)}">
</head>
<body>
${body}
</body>
</html>
`;
}

export function runPage(bundle: ExperimentBundle, title: string, assetPrefix: string): string {
  return shell(
    title,
    assetPrefix + bundle.css.name,
    `<noscript><main class="message"><h1>JavaScript is needed</h1><p>This study runs in your browser and needs JavaScript. Please enable it and reload the page.</p></main></noscript>
<div id="jspsych-target"></div>
<script src="${escapeHtml(assetPrefix + bundle.js.name)}" defer></script>`,
  );
}

export interface MessageLink {
  href: string;
  label: string;
}

export function messagePage(bundle: ExperimentBundle, assetPrefix: string, heading: string, text: string, link?: MessageLink): string {
  const action = link ? `<p><a class="jspsych-btn" href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : '';
  return shell(heading, assetPrefix + bundle.css.name, `<main class="message"><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p>${action}</main>`);
}
