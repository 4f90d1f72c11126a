/**
 * The dashboard's only script (same origin, bundled at server start; the CSP allows nothing
 * inline). The pages work without it; it adds live refresh, copy buttons, confirmations and local
 * times. Live parts are server-rendered HTML fragments: one renderer, on the server.
 */

function localTimes(root: ParentNode): void {
  for (const el of root.querySelectorAll<HTMLTimeElement>('time[datetime]')) {
    const d = new Date(el.dateTime);
    if (Number.isNaN(d.getTime())) continue;
    el.title = el.dateTime;
    const thisYear = d.getFullYear() === new Date().getFullYear();
    el.textContent = d.toLocaleString(undefined, {
      ...(thisYear ? {} : { year: 'numeric' }),
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
  }
}

async function copyText(text: string, button: HTMLElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select and copy';
  }
  window.setTimeout(() => (button.textContent = label), 1500);
}

function wireCopy(): void {
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target.closest<HTMLElement>('[data-copy], [data-copy-all]') : null;
    if (!target) return;
    if (target.dataset.copy) {
      const input = document.getElementById(target.dataset.copy) as HTMLInputElement | null;
      if (!input) return;
      input.select();
      void copyText(input.value, target);
    } else if (target.dataset.copyAll) {
      const values = [...document.querySelectorAll(target.dataset.copyAll)].map((el) => el.textContent?.trim() ?? '').filter(Boolean);
      void copyText(values.join('\n'), target);
    }
  });
}

function wireConfirm(): void {
  document.addEventListener('submit', (ev) => {
    const form = ev.target as HTMLFormElement;
    const question = form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  });
}

function statusLine(text: string, problem = false): void {
  const el = document.querySelector<HTMLElement>('[data-live-status]');
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('live-problem', problem);
}

function wireLive(): void {
  const regions = [...document.querySelectorAll<HTMLElement>('[data-live][data-live-url]')];
  if (regions.length === 0) return;
  const url = regions[0]!.dataset.liveUrl!;
  const every = Number(regions.find((r) => r.dataset.pollMs)?.dataset.pollMs ?? 5000);
  const applied = new Map<string, string>();
  let timer: number | undefined;

  const poll = async () => {
    timer = undefined;
    try {
      const res = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
      if (res.status === 401) {
        statusLine('Logged out: reload the page to log in again.', true);
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const { parts } = (await res.json()) as { parts: Record<string, string> };
      for (const region of regions) {
        const name = region.dataset.live!;
        const markup = parts[name];
        if (markup === undefined || applied.get(name) === markup) continue;
        region.innerHTML = markup;
        localTimes(region);
        applied.set(name, markup);
      }
      statusLine(`Updated live · ${new Date().toLocaleTimeString()}`);
    } catch {
      statusLine('Live update failed; retrying…', true);
    }
    schedule();
  };
  // A tab in the background refreshes four times less often; shown again, it refreshes at once.
  const schedule = () => {
    if (timer === undefined) timer = window.setTimeout(() => void poll(), document.visibilityState === 'visible' ? every : 4 * every);
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || timer === undefined) return;
    window.clearTimeout(timer);
    void poll();
  });
  // The page was just rendered: the first poll comes one interval later.
  schedule();
}

localTimes(document);
wireCopy();
wireConfirm();
wireLive();
