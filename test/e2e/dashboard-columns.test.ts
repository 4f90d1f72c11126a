/**
 * The study page with 20 conditions (natural and 19 layers with the long names the metamer code
 * uses) at 1280 × 800: no column of any table is cut off. Checked from the DOM, not by eye: every
 * table sits in a scroll box it fits without scrolling, every cell lies inside its card, and no
 * cell's content overflows it; the stat cards likewise. A full-page screenshot is kept in
 * test-output/ for a look.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../support/browser.ts';
import { ALEXNET_LAYERS, RESNET50_LAYERS } from '../fixtures/stimulus-sets.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { completeParticipant, logIn } from '../api/admin-participants.ts';

const MODELS = [
  {
    name: 'resnet50_l2_robust_eps3',
    layers: RESNET50_LAYERS,
  },
  {
    name: 'alexnet',
    layers: ALEXNET_LAYERS,
  },
  { name: 'cochcnn9_word_speaker_audioset', layers: ['relu0_fakerelu', 'relu3_fakerelu', 'relufc_fakerelu'] },
];

let chromium: TestBrowser;
let server: TestServer;
beforeAll(async () => {
  chromium = await launchChromium();
  server = await startTestServer({ set: { models: MODELS, sourcesPerCategory: 5 } });
  for (let i = 0; i < 3; i++) await completeParticipant(server, `5f0c0ffee000000000020${String(i).padStart(3, '0')}`);
});
afterAll(async () => {
  await chromium?.close();
  await server?.dispose();
});

interface Clip {
  what: string;
  detail: string;
}

describe('dashboard tables', () => {
  it('20 conditions at 1280 × 800: every column whole', { timeout: 120_000 }, async () => {
    const cookie = await logIn(server);
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const [name, value] = cookie.split('=');
    await context.addCookies([{ name: name!, value: value!, url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/admin/studies/fixture-study`);
    await expect.poll(() => page.locator('[data-table="recognizability"] tbody tr').count(), { timeout: 60_000 }).toBe(20);
    expect(await page.locator('[data-table="conditions"] tbody tr').count()).toBe(20);
    await page.screenshot({ path: path.resolve(import.meta.dirname, '../../test-output/dashboard-20-conditions.png'), fullPage: true });

    const clips = await page.evaluate(() => {
      const out: Clip[] = [];
      const inside = (inner: DOMRect, outer: DOMRect) => inner.left >= outer.left - 0.5 && inner.right <= outer.right + 0.5;
      for (const table of document.querySelectorAll<HTMLTableElement>('main table, .wrap table, table')) {
        const label = table.dataset.table ?? table.closest('section')?.querySelector('h2')?.textContent ?? 'table';
        const box = table.closest('.table-scroll');
        if (!box) out.push({ what: label, detail: 'not in a scroll box' });
        else if (box.scrollWidth > box.clientWidth + 1)
          out.push({ what: label, detail: `needs scrolling: ${box.scrollWidth} > ${box.clientWidth}` });
        const card = (table.closest('.card') ?? document.body).getBoundingClientRect();
        for (const cell of table.querySelectorAll<HTMLElement>('th, td')) {
          if (!inside(cell.getBoundingClientRect(), card))
            out.push({ what: `${label}: ${cell.textContent!.trim()}`, detail: 'outside its card' });
          if (cell.scrollWidth > cell.clientWidth + 1)
            out.push({ what: `${label}: ${cell.textContent!.trim()}`, detail: `content ${cell.scrollWidth} > cell ${cell.clientWidth}` });
        }
      }
      for (const stat of document.querySelectorAll<HTMLElement>('.stat')) {
        const r = stat.getBoundingClientRect();
        for (const child of stat.querySelectorAll<HTMLElement>('*')) {
          if (child.getClientRects().length > 0 && !inside(child.getBoundingClientRect(), r))
            out.push({ what: `stat: ${child.textContent!.trim()}`, detail: 'outside its card' });
        }
      }
      return out;
    });
    expect(clips).toEqual([]);
    // The counts' headers say what they count.
    const headers = await page.locator('[data-table="conditions"] thead th').allInnerTexts();
    expect(headers.map((h) => h.replace(/\s+/g, ' ').toLowerCase())).toEqual([
      'condition',
      'main trials from completed sessions',
      'main trials from sessions in progress',
      'main trials planned at target',
      'completed of plan',
    ]);
    await context.close();
  });
});
