/**
 * Debian's Chromium driven by playwright-core (no browser download: `npx playwright install` does
 * not work here). Playwright gives each launch a fresh, empty profile folder of its own.
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every test and bench launch uses: headless, and nothing that reaches the network. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(opts: { audio?: boolean } = {}): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...(opts.audio ? ['--autoplay-policy=no-user-gesture-required'] : [])],
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

/**
 * A participant's browser context. The redirect to Prolific cannot load here (no internet); the
 * participant driver watches for the navigation request instead. No request routing: Playwright
 * turns the HTTP cache off in a context with routes, and the study relies on that cache offline.
 */
export async function newParticipantContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 900 } });
}
