// @vitest-environment jsdom
/**
 * The typed-response plugin under jsdom with @jspsych/test-utils. jsdom has no WebAudio, so a small
 * AudioContext stands in (a clock that runs once resumed, WAV durations read from the real file's
 * header, sources that end after that long); the clip itself is a real WAV fetched over HTTP from
 * a real local server, through jsPsych's own audio loader.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, startTimeline } from '@jspsych/test-utils';
import TypedResponsePlugin, { type TypedResponseData } from '../../experiment/plugins/typed-response.ts';
import { LabelIndex, normalizeLabel } from '../../experiment/plugins/label-index.ts';
import { FakeAudioContext, installFakeAudioContext, serveClip, type ClipServer } from '../support/web-audio-stand-in.ts';
import { vocabulary } from '../fixtures/vocabulary.ts';

const CLIP_SECONDS = 0.08;
let clip: ClipServer;
let clipUrl: string;
beforeAll(async () => {
  clip = await serveClip(CLIP_SECONDS);
  clipUrl = clip.url;
});
afterAll(() => clip.close());

beforeEach(() => {
  installFakeAudioContext();
  document.body.innerHTML = '';
});

// ---- 793 labels, like the paper's vocabulary -------------------------------------------------------

// A few real words that share letters, to test prefix and substring matches.
const LABELS = vocabulary(793, ['cat', 'catalog', 'bobcat', 'Scatter', 'dog', 'hot dog']);

/** What the suggestions must be: prefix matches, then other containing labels, each alphabetical by key. */
function expectedSuggestions(labels: string[], text: string, limit: number): string[] {
  const q = normalizeLabel(text);
  const keyed = labels.map((l) => ({ l, k: normalizeLabel(l) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const prefix = keyed.filter((x) => x.k.startsWith(q));
  const inner = keyed.filter((x) => !x.k.startsWith(q) && x.k.includes(q));
  return [...prefix, ...inner].slice(0, limit).map((x) => x.l);
}

// ---- driving the page ---------------------------------------------------------------------------

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = () => $<HTMLInputElement>('jspsych-typed-response-input');
const playButton = () => $<HTMLButtonElement>('jspsych-typed-response-play');
const continueButton = () => $<HTMLButtonElement>('jspsych-typed-response-continue');
const visibleOptions = () => [...document.querySelectorAll<HTMLLIElement>('#jspsych-typed-response-list li')].filter((li) => !li.hidden);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function press(key: string): Promise<void> {
  input().dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
  await flushPromises();
}

/** Types like a keyboard: a keydown, then the character lands in the box and `input` fires. */
async function type(text: string): Promise<void> {
  for (const ch of text) {
    await press(ch);
    input().value += ch;
    input().dispatchEvent(new Event('input', { bubbles: true }));
  }
  await flushPromises();
}

async function clear(): Promise<void> {
  await press('Backspace');
  input().value = '';
  input().dispatchEvent(new Event('input', { bubbles: true }));
  await flushPromises();
}

/** Starts a trial and waits until its page is built (the clip is fetched and decoded first). */
async function run(params: Record<string, unknown> = {}) {
  const t = await startTimeline([{ type: TypedResponsePlugin, stimulus: clipUrl, choices: LABELS, ...params }]);
  for (let i = 0; i < 200 && !document.getElementById('jspsych-typed-response-play'); i++) await sleep(5);
  return t;
}

async function playToEnd(): Promise<void> {
  playButton().click();
  await flushPromises();
  // The clip has played to its end once the text box opens.
  await vi.waitFor(() => expect(input().disabled).toBe(false), { timeout: 5_000, interval: 5 });
  await flushPromises();
}

// ---- tests ----------------------------------------------------------------------------------------

describe('LabelIndex', () => {
  it('suggests prefix matches, then labels containing the text, exactly as a brute-force scan would', () => {
    const index = new LabelIndex(LABELS);
    expect(index.size).toBe(793);
    for (const q of ['ca', 'cat', 'Ba', 'zo', 'shu', 'a', 'e', 'og', 'tog', 'xq', ' Cat ', 'hot d']) {
      for (const limit of [1, 8, 50]) expect(index.suggest(q, limit), `${q} ${limit}`).toEqual(expectedSuggestions(LABELS, q, limit));
    }
    expect(index.suggest('', 8)).toEqual([]);
    expect(index.suggest('cat', 8).slice(0, 2)).toEqual(['cat', 'catalog']);
    expect(index.suggest('cat', 8)).toContain('bobcat');
  });

  it('matches exactly up to letter case and spacing, and only whole labels', () => {
    const index = new LabelIndex(LABELS);
    expect(index.exact('cat')).toBe('cat');
    expect(index.exact('  CAT ')).toBe('cat');
    expect(index.exact('scatter')).toBe('Scatter');
    expect(index.exact('hot   dog')).toBe('hot dog');
    expect(index.exact('ca')).toBeUndefined();
    expect(index.exact('cats')).toBeUndefined();
  });
});

describe('typed-response plugin', () => {
  it('declares its parameters and data the way jsPsych plugins do', () => {
    const info = TypedResponsePlugin.info;
    expect(info.name).toBe('typed-response');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(info.parameters)).toEqual(
      expect.arrayContaining(['stimulus', 'choices', 'prompt', 'max_suggestions', 'response_allowed_while_playing']),
    );
    expect(Object.keys(info.data)).toEqual(['stimulus', 'response', 'rt', 'keystrokes', 'used_suggestion']);
  });

  it('plays the clip once, on the button (which resumes the audio context); the box opens when it ends', async () => {
    await run();
    const context = FakeAudioContext.last!;
    expect(context.state).toBe('suspended');
    expect(context.starts).toEqual([]);
    expect(input().disabled).toBe(true);
    playButton().click();
    await flushPromises();
    expect(context.starts).toHaveLength(1);
    expect(context.starts[0]!.state).toBe('running');
    expect(playButton().disabled).toBe(true);
    expect(input().disabled).toBe(true);
    await vi.waitFor(() => expect(input().disabled).toBe(false), { timeout: 5_000, interval: 5 });
    expect(document.activeElement).toBe(input());
    expect(playButton().hidden).toBe(true);
    playButton().click();
    await flushPromises();
    expect(context.starts).toHaveLength(1);
  });

  it('lets typing start during the clip when asked to', async () => {
    await run({ response_allowed_while_playing: true });
    playButton().click();
    await flushPromises();
    expect(input().disabled).toBe(false);
  });

  it('suggests from 793 labels through a fixed pool of nodes: keystrokes change text, never the node tree', async () => {
    await run();
    await playToEnd();
    const list = $('jspsych-typed-response-list');
    const nodes = [...list.children];
    expect(nodes).toHaveLength(8);
    const treeChanges: MutationRecord[] = [];
    const observer = new MutationObserver((records) => treeChanges.push(...records.filter((r) => r.type === 'childList')));
    observer.observe(list, { childList: true, subtree: true, characterData: true });
    for (const q of ['c', 'ca', 'cat', 'catx']) {
      await type(q.slice(-1));
      const expected = expectedSuggestions(LABELS, q, 8);
      // A lone exact match is not offered as a suggestion.
      const shown = expected.length === 1 && normalizeLabel(expected[0]!) === normalizeLabel(q) ? [] : expected;
      expect(
        visibleOptions().map((li) => li.textContent),
        q,
      ).toEqual(shown);
      expect(list.hidden).toBe(shown.length === 0);
      expect(input().getAttribute('aria-expanded')).toBe(String(shown.length > 0));
    }
    await flushPromises();
    observer.disconnect();
    expect(treeChanges).toEqual([]);
    expect([...list.children]).toEqual(nodes);
  });

  it('continues only on an exact match and records the label, the time from sound onset and the keystrokes', async () => {
    const { getData, finished } = await run();
    const clicked = performance.now();
    await playToEnd();
    await type('zzq');
    expect(continueButton().disabled).toBe(true);
    await press('Enter');
    expect(document.getElementById('jspsych-typed-response-input')).not.toBeNull();
    await clear();
    await press('Shift');
    await type('CAT');
    expect(continueButton().disabled).toBe(false);
    continueButton().click();
    await finished;
    const elapsed = performance.now() - clicked;
    const data = getData().values()[0] as TypedResponseData;
    expect(data.response).toBe('cat');
    expect(data.stimulus).toBe(clipUrl);
    // z z q, Enter, Backspace, C A T: 8 keys; Shift alone is not a keystroke.
    expect(data.keystrokes).toBe(8);
    expect(data.used_suggestion).toBe(false);
    // Typing began after the clip ended, and the clock started at the Play click.
    expect(data.rt).toBeGreaterThanOrEqual(CLIP_SECONDS * 1000);
    expect(data.rt).toBeLessThanOrEqual(elapsed + 1);
  });

  it('navigates the suggestions with the arrow keys and takes one with Enter; Enter on a match continues', async () => {
    const { getData, finished } = await run();
    await playToEnd();
    await type('ca');
    const shown = visibleOptions().map((li) => li.textContent!);
    expect(shown.length).toBeGreaterThan(2);
    await press('ArrowDown');
    await press('ArrowDown');
    expect(visibleOptions()[1]!.getAttribute('aria-selected')).toBe('true');
    expect(input().getAttribute('aria-activedescendant')).toBe(visibleOptions()[1]!.id);
    await press('ArrowUp');
    await press('ArrowUp');
    // Up from the first wraps to the last shown.
    expect(visibleOptions()[shown.length - 1]!.getAttribute('aria-selected')).toBe('true');
    await press('ArrowDown');
    await press('ArrowDown');
    await press('Enter');
    expect(input().value).toBe(shown[1]);
    expect(continueButton().disabled).toBe(false);
    await press('Enter');
    await finished;
    const data = getData().values()[0] as TypedResponseData;
    expect(data.response).toBe(shown[1]);
    expect(data.used_suggestion).toBe(true);
    // c a, six arrows, Enter (pick), Enter (continue).
    expect(data.keystrokes).toBe(2 + 6 + 2);
  });

  it('takes a suggestion picked with the mouse, then closes the list until the arrows open it again', async () => {
    const { getData, finished } = await run();
    await playToEnd();
    await type('cat');
    expect(visibleOptions().map((li) => li.textContent)).toEqual(expect.arrayContaining(['cat', 'catalog', 'bobcat']));
    const pick = visibleOptions().find((li) => li.textContent === 'cat')!;
    pick.dispatchEvent(new MouseEvent('mousedown', { bubbles: true, cancelable: true }));
    await flushPromises();
    expect(input().value).toBe('cat');
    // 'catalog' still starts with 'cat', but a picked answer is not kept covered by a list.
    expect($('jspsych-typed-response-list').hidden).toBe(true);
    expect(input().getAttribute('aria-expanded')).toBe('false');
    await press('ArrowDown');
    expect($('jspsych-typed-response-list').hidden).toBe(false);
    expect(visibleOptions()[0]!.getAttribute('aria-selected')).toBe('true');
    await press('Escape');
    expect($('jspsych-typed-response-list').hidden).toBe(true);
    continueButton().click();
    await finished;
    expect(getData().values()[0] as TypedResponseData).toMatchObject({ response: 'cat', used_suggestion: true });
  });
});
