/**
 * Plain pages written into the participant page (saving progress, errors, the device check, the
 * exit with its code). Built from text nodes: nothing here is parsed as HTML, so a study's texts
 * or a server message cannot inject markup.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function showMessage(el: HTMLElement, heading: string, text: string): void {
  el.innerHTML = `<main class="message"><h1>${escapeHtml(heading)}</h1><p>${escapeHtml(text)}</p></main>`;
}

export interface PageLink {
  href: string;
  label: string;
}

export interface PageContent {
  heading: string;
  paragraphs: string[];
  /** A code the participant may need to type on Prolific: shown large, with a copy button. */
  code?: { label: string; value: string };
  /** A line the page updates as things happen (redirect, reachability). */
  status?: string;
  link?: PageLink;
  /** Extra buttons, in order, after the link. */
  buttons?: { id: string; label: string }[];
}

/** Replaces `el`'s content with a message page; returns the `<main>` for later updates. */
export function showPage(el: HTMLElement, c: PageContent): HTMLElement {
  const doc = el.ownerDocument;
  const main = doc.createElement('main');
  main.className = 'message';
  const h1 = doc.createElement('h1');
  h1.textContent = c.heading;
  main.append(h1);
  for (const text of c.paragraphs) {
    const p = doc.createElement('p');
    p.textContent = text;
    main.append(p);
  }
  if (c.code) main.append(codeBox(doc, c.code.label, c.code.value));
  if (c.status !== undefined) {
    const status = doc.createElement('p');
    status.className = 'metamer-status';
    status.setAttribute('role', 'status');
    status.textContent = c.status;
    main.append(status);
  }
  const actions = doc.createElement('p');
  actions.className = 'metamer-actions';
  if (c.link) {
    const a = doc.createElement('a');
    a.className = 'jspsych-btn';
    a.href = c.link.href;
    a.textContent = c.link.label;
    actions.append(a);
  }
  for (const b of c.buttons ?? []) {
    const button = doc.createElement('button');
    button.type = 'button';
    button.className = 'jspsych-btn';
    button.id = b.id;
    button.textContent = b.label;
    actions.append(button);
  }
  if (actions.childElementCount > 0) main.append(actions);
  el.replaceChildren(main);
  return main;
}

/** The code in a read-only field (one tap selects it all) with a Copy button. */
function codeBox(doc: Document, label: string, value: string): HTMLElement {
  const box = doc.createElement('div');
  box.className = 'metamer-code';
  const id = 'metamer-code-value';
  const l = doc.createElement('label');
  l.htmlFor = id;
  l.textContent = label;
  const input = doc.createElement('input');
  input.id = id;
  input.readOnly = true;
  input.value = value;
  input.size = Math.max(8, value.length + 2);
  input.setAttribute('data-code', value);
  const button = doc.createElement('button');
  button.type = 'button';
  button.className = 'jspsych-btn';
  button.setAttribute('data-copy', id);
  button.textContent = 'Copy';
  box.append(l, input, button);
  wireCopyButtons(box);
  return box;
}

/**
 * Copy buttons (`data-copy="<input id>"`), also on the server's own pages. The Clipboard API needs
 * a secure context; elsewhere the field is selected and the older execCommand copies it.
 */
export function wireCopyButtons(root: ParentNode): void {
  for (const button of root.querySelectorAll<HTMLButtonElement>('button[data-copy]')) {
    if (button.dataset.wired) continue;
    button.dataset.wired = '1';
    button.addEventListener('click', () => {
      const doc = button.ownerDocument;
      const input = (doc.getElementById(button.dataset.copy!) ?? button.parentElement?.querySelector('input')) as HTMLInputElement | null;
      if (!input) return;
      input.select();
      const done = () => {
        button.textContent = 'Copied';
        setTimeout(() => (button.textContent = 'Copy'), 2000);
      };
      const legacy = () => {
        if (button.ownerDocument.execCommand?.('copy')) done();
      };
      const clipboard = button.ownerDocument.defaultView?.navigator.clipboard;
      if (clipboard?.writeText) clipboard.writeText(input.value).then(done, legacy);
      else legacy();
    });
  }
}
