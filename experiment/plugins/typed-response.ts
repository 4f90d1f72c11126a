/**
 * jsPsych 8 plugin `typed-response`: identify a sound by typing its label, with suggestions from a
 * large label set: the paper's audio task, where the answer is one of 793 words typed with
 * suggestions and must match one exactly (docs/design.md §5).
 *
 * A button starts the clip, which plays once through WebAudio (the click is the user gesture that
 * lets the AudioContext run; onset and response are timed on the audio clock, as in jsPsych's
 * audio plugins). The participant types; labels starting with the text are suggested, then labels
 * containing it; arrow keys, Enter and the mouse pick one. The trial ends only on an exact match
 * with a label (case and spacing aside), with Continue or Enter.
 *
 * Staying smooth with hundreds of labels: the label set is indexed once (label-index.ts), and the
 * suggestion list is a fixed pool of `max_suggestions` option nodes built when the trial starts; a
 * keystroke rewrites the text of at most that many nodes, whatever the number of labels.
 */
import { type JsPsych, type JsPsychPlugin, ParameterType, type TrialType } from 'jspsych';
import { labelIndexFor } from './label-index.ts';

const info = <const>{
  name: 'typed-response',
  version: '1.0.0',
  parameters: {
    /** The audio file; preload it (jsPsych's preload plugin) so it starts without delay. */
    stimulus: {
      type: ParameterType.AUDIO,
      default: undefined,
    },
    /** The labels a response must match. */
    choices: {
      type: ParameterType.STRING,
      array: true,
      default: undefined,
    },
    /** HTML shown above the text box. */
    prompt: {
      type: ParameterType.HTML_STRING,
      default: null,
    },
    play_button_label: {
      type: ParameterType.STRING,
      default: 'Play',
    },
    continue_button_label: {
      type: ParameterType.STRING,
      default: 'Continue',
    },
    placeholder: {
      type: ParameterType.STRING,
      default: 'Type what you heard',
    },
    /** The most suggestions shown at once. */
    max_suggestions: {
      type: ParameterType.INT,
      default: 8,
    },
    /** Whether typing may begin while the clip plays; by default the box opens when it ends. */
    response_allowed_while_playing: {
      type: ParameterType.BOOL,
      default: false,
    },
  },
  data: {
    /** The audio file played. */
    stimulus: {
      type: ParameterType.STRING,
    },
    /** The label answered, spelled as in `choices`. */
    response: {
      type: ParameterType.STRING,
    },
    /** Milliseconds from sound onset to the answer. */
    rt: {
      type: ParameterType.INT,
    },
    /** Key presses in the text box (editing, navigation and Enter; modifier keys alone not counted). */
    keystrokes: {
      type: ParameterType.INT,
    },
    /** Whether the answer was taken from the suggestions (rather than typed out in full). */
    used_suggestion: {
      type: ParameterType.BOOL,
    },
  },
};

type Info = typeof info;

export interface TypedResponseData {
  stimulus: string;
  response: string;
  rt: number;
  keystrokes: number;
  used_suggestion: boolean;
}

const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'CapsLock', 'AltGraph', 'Fn', 'OS']);

const ID = 'jspsych-typed-response';

class TypedResponsePlugin implements JsPsychPlugin<Info> {
  static info = info;

  constructor(private readonly jsPsych: JsPsych) {}

  async trial(display_element: HTMLElement, trial: TrialType<Info>, on_load: () => void): Promise<TypedResponseData> {
    const index = labelIndexFor(trial.choices);
    const audio = await this.jsPsych.pluginAPI.getAudioPlayer(trial.stimulus);

    display_element.innerHTML = `<div class="${ID}">
  ${trial.prompt ?? ''}
  <p><button type="button" id="${ID}-play" class="jspsych-btn"></button></p>
  <div class="${ID}-box">
    <input id="${ID}-input" type="text" role="combobox" aria-autocomplete="list" aria-expanded="false" aria-controls="${ID}-list"
      autocomplete="off" autocapitalize="off" autocorrect="off" spellcheck="false" disabled>
    <ul id="${ID}-list" role="listbox" hidden></ul>
  </div>
  <p><button type="button" id="${ID}-continue" class="jspsych-btn" disabled></button></p>
</div>`;
    const play = display_element.querySelector<HTMLButtonElement>(`#${ID}-play`)!;
    const input = display_element.querySelector<HTMLInputElement>(`#${ID}-input`)!;
    const list = display_element.querySelector<HTMLUListElement>(`#${ID}-list`)!;
    const cont = display_element.querySelector<HTMLButtonElement>(`#${ID}-continue`)!;
    // jsPsych fills in every parameter's default before the trial starts.
    const maxSuggestions = trial.max_suggestions!;
    play.textContent = trial.play_button_label!;
    cont.textContent = trial.continue_button_label!;
    input.placeholder = trial.placeholder!;
    input.setAttribute('aria-label', trial.placeholder!);

    // The fixed pool of option nodes: built once, then only their text and visibility change.
    const options: HTMLLIElement[] = [];
    const texts: Text[] = [];
    for (let i = 0; i < maxSuggestions; i++) {
      const li = document.createElement('li');
      li.id = `${ID}-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.hidden = true;
      texts.push(li.appendChild(document.createTextNode('')));
      options.push(li);
    }
    list.append(...options);

    // Taken in the Play click, not before: asking jsPsych for it also tries to resume it.
    let context: AudioContext | null = null;
    const now = () => (context ? context.currentTime * 1000 : performance.now());
    let onset: number | null = null;
    let keystrokes = 0;
    let shown: string[] = [];
    let active = -1;
    let usedSuggestion = false;

    const setActive = (i: number) => {
      if (active >= 0) options[active]!.setAttribute('aria-selected', 'false');
      active = i;
      if (active >= 0) {
        options[active]!.setAttribute('aria-selected', 'true');
        input.setAttribute('aria-activedescendant', options[active]!.id);
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    };
    const update = () => {
      const match = index.exact(input.value);
      shown = index.suggest(input.value, maxSuggestions);
      // An exact match alone is not a suggestion worth showing.
      if (shown.length === 1 && shown[0] === match) shown = [];
      for (let i = 0; i < options.length; i++) {
        const label = shown[i];
        if (label !== undefined && texts[i]!.data !== label) texts[i]!.data = label;
        options[i]!.hidden = label === undefined;
      }
      setActive(-1);
      list.hidden = shown.length === 0;
      input.setAttribute('aria-expanded', String(shown.length > 0));
      cont.disabled = match === undefined;
    };
    const close = () => {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      setActive(-1);
    };
    const choose = (label: string) => {
      input.value = label;
      usedSuggestion = true;
      update();
      // Picked: the list closes until the next edit, even if longer labels still match.
      close();
      input.focus();
    };
    let finished = false;
    const finish = () => {
      const response = index.exact(input.value);
      if (response === undefined || onset === null || finished) return;
      finished = true;
      const rt = Math.round(now() - onset);
      try {
        audio.stop();
      } catch {
        // Already stopped: nothing to do.
      }
      display_element.innerHTML = '';
      resolve({ stimulus: trial.stimulus, response, rt, keystrokes, used_suggestion: usedSuggestion });
    };
    const openBox = () => {
      input.disabled = false;
      input.focus();
    };

    play.addEventListener('click', async () => {
      play.disabled = true;
      // Inside the click (a user gesture): the one moment a suspended AudioContext may start.
      context = this.jsPsych.pluginAPI.audioContext();
      if (context && context.state !== 'running') await context.resume();
      audio.addEventListener('ended', () => {
        play.hidden = true;
        if (!trial.response_allowed_while_playing) openBox();
      });
      onset = now();
      audio.play();
      play.textContent = '▶ Playing…';
      if (trial.response_allowed_while_playing) openBox();
    });
    input.addEventListener('input', () => {
      usedSuggestion = false;
      update();
    });
    input.addEventListener('keydown', (e) => {
      if (!MODIFIER_KEYS.has(e.key)) keystrokes++;
      if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && shown.length > 0) {
        e.preventDefault();
        // Arrows reopen a list closed by Escape or a pick.
        list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
        if (e.key === 'ArrowDown') setActive((active + 1) % shown.length);
        else setActive(active <= 0 ? shown.length - 1 : active - 1);
      } else if (e.key === 'Enter') {
        e.preventDefault();
        if (active >= 0) choose(shown[active]!);
        else finish();
      } else if (e.key === 'Escape') {
        close();
      }
    });
    // mousedown (not click) so the text box keeps the focus.
    list.addEventListener('mousedown', (e) => {
      const li = (e.target as Element).closest('li');
      const i = li ? options.indexOf(li as HTMLLIElement) : -1;
      if (i < 0 || shown[i] === undefined) return;
      e.preventDefault();
      choose(shown[i]);
    });
    cont.addEventListener('click', finish);

    let resolve!: (data: TypedResponseData) => void;
    const done = new Promise<TypedResponseData>((r) => (resolve = r));
    on_load();
    play.focus();
    return done;
  }
}

export default TypedResponsePlugin;
