/**
 * Signs of browser automation the page can see, sent once per page load (`PageReport`). Each name
 * below is one that an automation tool is documented (or seen in its source) to leave in the pages
 * it drives; a hand-written script that calls the API directly leaves none of them, and a careful
 * one removes them, so these signs catch careless automation only (docs/integrity.md). Nothing
 * that identifies the participant or their device is collected.
 */
import type { PageReport } from './contract.ts';

/** Own properties of `window` that drivers add. */
const WINDOW_GLOBALS: readonly string[] = [
  // PhantomJS: the page-to-phantom bridge (http://phantomjs.org/api/webpage/handler/on-callback.html).
  'callPhantom',
  '_phantom',
  // Nightmare (Electron): its preload script's bridge.
  '__nightmare',
  // Selenium IDE / Selenium RC: the recorder and the RC bridge.
  '_Selenium_IDE_Recorder',
  'callSelenium',
  '_selenium',
  // Chromium's --dom-automation switch (its own browser tests and some drivers).
  'domAutomation',
  'domAutomationController',
  // Playwright: the bridge of page.exposeFunction/exposeBinding (playwright-core's PageBinding).
  '__playwright__binding__controller__',
  '__playwright__binding__',
];

/** Own properties of `document` that Selenium's older drivers add. */
const DOCUMENT_GLOBALS: readonly string[] = [
  '__webdriver_evaluate',
  '__selenium_evaluate',
  '__webdriver_script_function',
  '__webdriver_script_func',
  '__webdriver_script_fn',
  '__fxdriver_evaluate',
  '__driver_unwrapped',
  '__webdriver_unwrapped',
  '__driver_evaluate',
  '__selenium_unwrapped',
  '__fxdriver_unwrapped',
];

/** Attributes Selenium's older drivers set on <html>. */
const ROOT_ATTRIBUTES: readonly string[] = ['webdriver', 'selenium', 'driver'];

/**
 * ChromeDriver defines `cdc_<22 characters>_Array`, `_Promise`, `_Symbol` on window before a page's
 * scripts run, and older versions kept an element cache under `$cdc_…` on document.
 */
const CHROMEDRIVER_WINDOW = /^cdc_[A-Za-z0-9]{22}_/;
const CHROMEDRIVER_DOCUMENT = /^\$cdc_/;

export function automationSigns(win: Window = window): PageReport {
  const doc = win.document;
  const found: string[] = [];
  for (const name of WINDOW_GLOBALS) if (Object.hasOwn(win, name)) found.push(name);
  for (const name of DOCUMENT_GLOBALS) if (Object.hasOwn(doc, name)) found.push(`document.${name}`);
  for (const name of ROOT_ATTRIBUTES) if (doc.documentElement.hasAttribute(name)) found.push(`html[${name}]`);
  for (const name of Object.getOwnPropertyNames(win)) if (CHROMEDRIVER_WINDOW.test(name)) found.push(name.slice(0, 64));
  for (const name of Object.getOwnPropertyNames(doc)) if (CHROMEDRIVER_DOCUMENT.test(name)) found.push(`document.${name}`.slice(0, 64));
  // W3C WebDriver: true while the browser is under remote control (https://w3c.github.io/webdriver/#interface).
  const webdriver = typeof win.navigator.webdriver === 'boolean' ? win.navigator.webdriver : null;
  return { webdriver, automation_globals: found.slice(0, 32) };
}
