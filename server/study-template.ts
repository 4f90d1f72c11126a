/**
 * `metamer study init <set>`: a study config that is valid for an imported set, with the paper's
 * protocol (docs/design.md §5) scaled down to the items the set has, and a Markdown explanation of
 * every choice. Pure: (manifest, options) → config and text; the command writes the files.
 *
 * Scaling rules (each keeps the paper's proportions where the set is too small for its counts):
 * - practice and screening come from the set's practice items and must not repeat one another
 *   (a screening image whose answer practice gave would test memory): practice takes at most half
 *   of them, screening the rest, each capped at the paper's count;
 * - the screening pass mark keeps the paper's share (7 of 12 for images, 5 of 12 for audio);
 * - catch trials keep the paper's 16 per 400 main trials, at least 2 when the set allows, drawn
 *   from practice items that practice does not show;
 * - the slower first practice trials keep the paper's 4 of 16 (images);
 * - the target is a multiple of the number of conditions C, so the Latin square shows every
 *   (source, condition) pair equally often.
 * The result is then checked exactly as `study create` checks it; should a rule of the set's
 * checks still refuse it, the largest of the counts is lowered until it passes.
 */
import { conditionKey, type Manifest, NATURAL } from '../stimuli/manifest.ts';
import { studyDesign } from './session-plan.ts';
import { suggestCode } from './dashboard/new-study-form.ts';
import { PROTOCOL_DEFAULTS, StudyConfig, type StudyConfigInput, TIMING_DEFAULTS } from './study-config.ts';
import { userError } from './http-error.ts';
import { DEVICE_DEFAULTS } from '../experiment/device-policy.ts';
import { requirementText } from '../experiment/device-check.ts';

export interface StudyTemplateOptions {
  /** A valid study id (StudyId). */
  id: string;
  /** Participants wanted; rounded up to a multiple of the number of conditions. Default about 20. */
  target?: number;
}

export interface StudyTemplate {
  config: StudyConfigInput;
  /** Markdown: what every field does and why it has this value. */
  explanation: string;
}

interface Counts {
  practice_trials: number;
  slow_practice_trials: number;
  screening_trials: number;
  screening_min_correct: number;
  catch_trials: number;
}

/** The paper's main block: 400 sources (docs/design.md §5). */
const PAPER_MAIN = 400;

function scaledCounts(modality: 'image' | 'audio', pool: number, mainSources: number): Counts {
  const d = PROTOCOL_DEFAULTS[modality];
  const practice = Math.min(d.practice_trials, Math.floor(pool / 2));
  const screening = Math.min(d.screening_trials, pool - practice);
  const unpracticed = pool - practice;
  const catchWanted = Math.max(2, Math.round((mainSources * d.catch_trials) / PAPER_MAIN));
  const catchTrials = unpracticed > 0 ? Math.min(d.catch_trials, catchWanted) : 0;
  return withDerived(modality, { practice_trials: practice, screening_trials: screening, catch_trials: catchTrials });
}

/** The pass mark and the slow practice trials follow the counts, in the paper's proportions. */
function withDerived(modality: 'image' | 'audio', c: Pick<Counts, 'practice_trials' | 'screening_trials' | 'catch_trials'>): Counts {
  const d = PROTOCOL_DEFAULTS[modality];
  // In the order README's table lists them.
  return {
    practice_trials: c.practice_trials,
    slow_practice_trials: c.practice_trials === 0 ? 0 : Math.ceil((c.practice_trials * d.slow_practice_trials) / d.practice_trials),
    screening_trials: c.screening_trials,
    screening_min_correct: Math.ceil((c.screening_trials * d.screening_min_correct) / d.screening_trials),
    catch_trials: c.catch_trials,
  };
}

function conditionCount(manifest: Manifest): number {
  return 1 + manifest.models.reduce((n, m) => n + m.layers.length, 0);
}

export function studyTemplate(manifest: Manifest, opts: StudyTemplateOptions): StudyTemplate {
  const modality = manifest.modality;
  const pool = manifest.items.filter((i) => i.role === 'practice').length;
  const sources = new Set(manifest.items.filter((i) => i.role === 'main' && i.condition === NATURAL).map((i) => i.source_id)).size;
  if (sources === 0) throw userError(`stimulus set ${manifest.name} has no natural main items: a study needs at least one source`);
  const c = conditionCount(manifest);
  const target = c * Math.max(1, Math.ceil((opts.target ?? 20) / c));

  let counts = scaledCounts(modality, pool, sources);
  const configOf = (k: Counts): StudyConfigInput => ({
    id: opts.id,
    stimulus_set: manifest.name,
    modality,
    conditions: { models: 'all', include_natural: true },
    protocol: { ...k },
    prolific: { completion_code: suggestCode(), screenout_code: suggestCode() },
    target_completed: target,
    seed: 1,
  });
  let config = configOf(counts);
  for (let guard = 0; ; guard++) {
    try {
      studyDesign(StudyConfig.parse(config), manifest);
      break;
    } catch (e) {
      const keys = ['screening_trials', 'practice_trials', 'catch_trials'] as const;
      const largest = keys.reduce((a, b) => (counts[b] > counts[a] ? b : a));
      if (counts[largest] === 0 || guard > 1000) throw e;
      counts = withDerived(modality, { ...counts, [largest]: counts[largest] - 1 });
      config = configOf(counts);
    }
  }
  return { config, explanation: explain(manifest, config, counts, { pool, sources, conditions: c }) };
}

interface SetSize {
  pool: number;
  sources: number;
  conditions: number;
}

function explain(manifest: Manifest, config: StudyConfigInput, k: Counts, n: SetSize): string {
  const m = manifest.modality;
  const d = PROTOCOL_DEFAULTS[m];
  const t = TIMING_DEFAULTS[m];
  const layers = manifest.models.map((x) => `${x.model} (${x.layers.length} layers)`).join(', ') || 'no model';
  const row = (field: string, value: unknown, paper: unknown, why: string) =>
    `| \`${field}\` | ${String(value)} | ${String(paper)} | ${why} |`;
  const slow =
    m === 'image'
      ? `The first practice trials show the image for ${t.practice_stimulus_ms} ms instead of ${t.stimulus_ms} ms: the paper's 4 in 16.`
      : 'Audio plays whole clips: no slow trials.';
  const rows = [
    row(
      'practice_trials',
      k.practice_trials,
      d.practice_trials,
      `Practice trials with feedback, from the set's practice items: at most half of the ${n.pool} (screening needs the others).`,
    ),
    row('slow_practice_trials', k.slow_practice_trials, d.slow_practice_trials, slow),
    row('screening_trials', k.screening_trials, d.screening_trials, 'Screening trials, no feedback, from items practice does not show.'),
    row(
      'screening_min_correct',
      k.screening_min_correct,
      d.screening_min_correct,
      `Correct screening answers needed to continue: the paper's ${d.screening_min_correct} of ${d.screening_trials}, as a share. ` +
        'Below it the session ends with the screen-out code.',
    ),
    row(
      'catch_trials',
      k.catch_trials,
      d.catch_trials,
      'Natural practice-pool items mixed into the main block to check attention: ' +
        `the paper's ${d.catch_trials} per ${PAPER_MAIN} main trials (here ${n.sources} main trials), at least 2.`,
    ),
    row('main_sources', 'all', 'all', 'Every main source once per participant.'),
    ...(m === 'audio'
      ? [
          row(
            'headphone_check',
            d.headphone_check,
            d.headphone_check,
            `Woods et al. 2017 antiphase test, ${d.headphone_trials} trials, pass with ${d.headphone_min_correct}.`,
          ),
        ]
      : []),
  ];
  const metamerConditions = manifest.models.flatMap((x) => x.layers.map((l) => conditionKey({ model: x.model, layer: l, layer_index: 0 })));
  return `# ${config.id}: a study of the stimulus set \`${manifest.name}\`

Written by \`metamer study init\`. The set has ${n.sources} main sources, ${n.pool} practice items,
${manifest.categories.length} categories and ${n.conditions} conditions (natural and ${layers}).
Every value below can be changed in \`${config.id}.json\`; \`metamer study create\` checks the file
against the set again. Fields left out take the paper's defaults for ${m} studies
(README, "The protocol fields").

## Protocol

| field | here | paper | why this value |
| --- | --- | --- | --- |
${rows.join('\n')}

## The rest

- \`conditions\`: natural plus every layer of every model in the set (${n.conditions} conditions).
  To study fewer, list them: \`{"models": [{"model": "${manifest.models[0]?.model ?? 'model'}", "layers": [...]}]}\`.
  ${metamerConditions.length > 0 ? `The conditions are: natural, ${metamerConditions.join(', ')}.` : ''}
- \`target_completed\`: ${config.target_completed}, a multiple of the ${n.conditions} conditions, so that
  the Latin square shows every (source, condition) pair to the same number of completed participants.
- \`prolific\`: the two codes are made up here. Set the same codes on Prolific (its study page lets
  you enter your own), or copy Prolific's into this file before \`study create\`.
- \`timing\` (not written, the paper's values): ${Object.entries(t)
    .map(([key, v]) => `\`${key}\` ${v} ms`)
    .join(', ')}.
- \`device\` (not written, the ${m} default): ${requirementText(DEVICE_DEFAULTS[m], m === 'audio' && d.headphone_check !== 'none')} Other
  devices are turned away before consent, with a link to return the study on Prolific.
- \`title\` (not written): shown to participants and used as the exported dataset's name. Without
  one, participants see a neutral heading and exports are named by the study id.
- \`seed\`: 1. The same seed gives the same plans.
`;
}
