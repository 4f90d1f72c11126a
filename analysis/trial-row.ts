/**
 * One trial as analysis sees it: the tidy trials contract of docs/design.md §4. The same schema validates
 * rows handed over in memory (the dashboard), rows of a trials CSV (after cell parsing) and
 * documents every column in exports (`TRIAL_COLUMNS`, used for Psych-DS `variableMeasured`).
 */
import { z } from 'zod';
// Phases and session states are the wire contract's (the server stores what the browser was told).
import { Phase, SessionState } from '../experiment/contract.ts';

export { Phase, SessionState };

export const NATURAL_LAYER = 'natural';

const Bit = z.union([z.literal(0), z.literal(1)]);

export const TrialRow = z
  .object({
    study_id: z.string().min(1).optional(),
    participant_id: z.string().min(1),
    session_id: z.string().optional(),
    session_state: SessionState.optional(),
    /** Experimenter previews are never analysed. */
    preview: z.union([Bit, z.boolean()]).optional(),
    phase: Phase.default('main'),
    trial_index: z.number().int().min(0).optional(),
    stimulus_id: z.string().optional(),
    source_id: z.string().optional(),
    category: z.string().optional(),
    /** The generating model; empty for natural stimuli. */
    model: z.string(),
    /** The model's layer; `natural` for natural stimuli. */
    layer: z.string().min(1),
    /** 1-based position of the layer in its model; 0 for natural. Orders layers when present. */
    layer_index: z.number().int().min(0).optional(),
    response: z.string().nullable().optional(),
    correct: z
      .union([Bit, z.boolean()], { error: 'must be 1 or 0 (true/false also accepted)' })
      .transform((v) => (v === true || v === 1 ? 1 : 0)),
    rt_ms: z.number().nullable().optional(),
    /**
     * Observer model → whether that model classified this stimulus correctly. For a metamer, the
     * generating model's entry is its own accuracy on it (human vs model, docs/design.md §5); for a natural
     * stimulus, each model's.
     */
    network: z.record(z.string(), Bit).optional(),
  })
  .loose()
  .superRefine((row, ctx) => {
    if (row.layer === NATURAL_LAYER && row.model !== '') {
      ctx.addIssue({ code: 'custom', path: ['model'], message: `must be empty for layer "${NATURAL_LAYER}" (got "${row.model}")` });
    }
    if (row.model === '' && row.layer !== NATURAL_LAYER) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: `is empty, which means a natural stimulus, but layer is "${row.layer}" (expected "${NATURAL_LAYER}")`,
      });
    }
    if (row.layer_index !== undefined) {
      const natural = row.layer === NATURAL_LAYER;
      if (natural && row.layer_index !== 0) {
        ctx.addIssue({ code: 'custom', path: ['layer_index'], message: `must be 0 for natural stimuli (got ${row.layer_index})` });
      }
      if (!natural && row.layer_index === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['layer_index'],
          message: 'is 0, which is reserved for natural stimuli; metamer layers count from 1',
        });
      }
    }
  });
export type TrialRowInput = z.input<typeof TrialRow>;
export type TrialRow = z.output<typeof TrialRow>;

export interface ColumnDescription {
  name: string;
  description: string;
  /** schema.org-style value type, for Psych-DS `variableMeasured`. */
  type: 'string' | 'integer' | 'number';
}

/**
 * The trials CSV columns, in export order: docs/design.md §4's contract first, then the extras this
 * platform adds. Prediction columns (`prediction_<model>`) follow, one per model, when known.
 */
export const TRIAL_COLUMNS: readonly ColumnDescription[] = [
  {
    name: 'participant_id',
    type: 'string',
    description: 'Pseudonymous participant id: a keyed hash of the Prolific ID (the raw ID is never exported).',
  },
  {
    name: 'session_id',
    type: 'string',
    description:
      "Pseudonymous id of the participant's session (one Prolific submission; one per participant per study). Not the server's session token.",
  },
  {
    name: 'phase',
    type: 'string',
    description: 'Trial phase: practice, screening, main, catch or headphone. Only main trials enter recognizability.',
  },
  { name: 'trial_index', type: 'integer', description: 'Position of the trial in the session, from 0.' },
  { name: 'stimulus_id', type: 'string', description: 'Id of the stimulus in its stimulus set.' },
  { name: 'source_id', type: 'string', description: 'Id of the natural source the stimulus was made from.' },
  { name: 'category', type: 'string', description: "The source's category: the correct answer." },
  { name: 'model', type: 'string', description: 'Model that generated the metamer; empty for natural stimuli.' },
  { name: 'layer', type: 'string', description: 'Layer whose activations the metamer matches; "natural" for natural stimuli.' },
  { name: 'layer_index', type: 'integer', description: 'Position of the layer in its model, from 1; 0 for natural stimuli.' },
  { name: 'response', type: 'string', description: "The participant's answer (empty if none)." },
  { name: 'correct', type: 'integer', description: '1 if the response equals the category, else 0.' },
  { name: 'rt_ms', type: 'number', description: 'Response time in milliseconds from response onset (empty if not recorded).' },
  { name: 'study_id', type: 'string', description: 'Study the trial belongs to.' },
  { name: 'session_state', type: 'string', description: 'State of the session at export: started, completed, screened_out or abandoned.' },
  { name: 'received_at', type: 'string', description: 'When the server stored the trial (ISO 8601, UTC).' },
  {
    name: 'model_prediction',
    type: 'string',
    description: "The generating model's own predicted category for this stimulus (metamers; empty when unknown).",
  },
  {
    name: 'fallback_for',
    type: 'string',
    description:
      'For a natural stimulus shown in place of a metamer that failed the model-side checks: the condition it stood in for (model/layer); empty otherwise. The trial counts as the natural trial it was.',
  },
  {
    name: 'wait_ms',
    type: 'number',
    description:
      "Milliseconds the participant's browser made them wait before this trial because its stimulus had not yet arrived and been decoded (0: no wait; empty when not recorded).",
  },
];

/** Describes a `prediction_<model>` column. */
export function predictionColumn(model: string): ColumnDescription {
  return {
    name: `prediction_${model}`,
    type: 'string',
    description: `Category predicted by model ${model} for this stimulus (empty when unknown).`,
  };
}

/** Columns a trials CSV must have to be analysed; `phase` defaults to main when absent. */
export const REQUIRED_ANALYSIS_COLUMNS = ['participant_id', 'model', 'layer', 'correct'] as const;
