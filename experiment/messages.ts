/** Plain messages written into the page (saving progress, errors). */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function showMessage(el: HTMLElement, heading: string, text: string): void {
  el.innerHTML = `<main class="message"><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p></main>`;
}
