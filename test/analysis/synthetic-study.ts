/**
 * A synthetic study in a real SQLite file (the platform's schema, via openDatabase), for the
 * analysis tests and benchmark: a stimulus set whose manifest optionally carries model
 * predictions, a study with a real StudyConfig, sessions in every state (and a preview), and
 * trials of every phase with seeded responses. Condition assignment rotates like a Latin square.
 * Returns the trials it wrote so that tests can compute expectations independently.
 */
import { openDatabase } from '../../server/store/database.ts';
import { StudyConfig } from '../../server/study-config.ts';
import type { ManifestInput } from '../../stimuli/manifest.ts';
import { Random } from '../../analysis/random.ts';

export interface SyntheticModel {
  model: string;
  layers: string[];
}

export interface SyntheticOptions {
  studyId?: string;
  setName?: string;
  categories?: number;
  models?: SyntheticModel[];
  participants?: number;
  /** Main trials (= main sources) per participant. */
  mainTrials?: number;
  catchTrials?: number;
  practiceTrials?: number;
  /** Participant indices (0-based) with these session states; others are completed. */
  screenedOut?: number[];
  abandoned?: number[];
  started?: number[];
  /** Add one preview session with trials (never analysed). */
  preview?: boolean;
  /** Write model predictions into the manifest (model_prediction and prediction_<model>). */
  predictions?: boolean;
  /** Participants whose catch trials are all wrong (to exercise the catch rule). */
  inattentive?: number[];
  seed?: number;
  exclusions?: { incomplete?: boolean; screened_out?: boolean; catch_min_accuracy?: number; natural_min_accuracy?: number };
}

export interface SyntheticTrial {
  participant_id: string;
  prolific_pid: string;
  session_id: string;
  state: string;
  preview: number;
  phase: string;
  trial_index: number;
  stimulus_id: string;
  category: string;
  model: string;
  layer: string;
  layer_index: number;
  correct: number;
}

export interface SyntheticStudy {
  studyId: string;
  setName: string;
  categories: string[];
  models: SyntheticModel[];
  trials: SyntheticTrial[];
  /** stimulus id → observer → predicted label (when predictions are on). */
  predictions: Map<string, Map<string, string>>;
  /** stimulus id → true category. */
  categoryOf: Map<string, string>;
}

/** Recognizability falls with depth, faster for later models: a paper-like pattern. */
function trueP(modelIndex: number, layerIndex: number, layers: number): number {
  if (layerIndex === 0) return 0.9;
  const depth = layerIndex / layers;
  return Math.max(0.08, 0.92 - depth * (0.5 + 0.3 * modelIndex));
}

export function createSyntheticStudy(dbFile: string, options: SyntheticOptions = {}): SyntheticStudy {
  const o = {
    studyId: 'synth',
    setName: 'synth-set',
    categories: 4,
    models: [
      { model: 'alexnet', layers: ['relu0', 'relu2', 'final'] },
      { model: 'resnet50', layers: ['layer1', 'layer4', 'final'] },
    ],
    participants: 12,
    mainTrials: 28,
    catchTrials: 4,
    practiceTrials: 3,
    screenedOut: [] as number[],
    abandoned: [] as number[],
    started: [] as number[],
    preview: false,
    predictions: false,
    inattentive: [] as number[],
    seed: 1,
    ...options,
  };
  const rng = new Random(o.seed);
  const categories = Array.from({ length: o.categories }, (_, i) => `cat${String(i).padStart(2, '0')}`);
  const conditions: { model: string; layer: string; layer_index: number; modelIndex: number; layers: number }[] = [
    { model: '', layer: 'natural', layer_index: 0, modelIndex: -1, layers: 1 },
  ];
  for (const [mi, m] of o.models.entries()) {
    for (const [li, layer] of m.layers.entries())
      conditions.push({ model: m.model, layer, layer_index: li + 1, modelIndex: mi, layers: m.layers.length });
  }

  const items: ManifestInput['items'] = [];
  const predictions = new Map<string, Map<string, string>>();
  const categoryOf = new Map<string, string>();
  const predict = (category: string, pCorrect: number): string =>
    rng.nextFloat() < pCorrect
      ? category
      : categories[(categories.indexOf(category) + 1 + rng.nextBelow(categories.length - 1)) % categories.length]!;
  for (let s = 0; s < o.mainTrials; s++) {
    const source = `src${String(s).padStart(4, '0')}`;
    const category = categories[s % categories.length]!;
    for (const c of conditions) {
      const id = c.model === '' ? `${source}-natural` : `${source}-${c.model}-${c.layer}`;
      const attributes: Record<string, string> = {};
      if (o.predictions) {
        const preds = new Map<string, string>();
        if (c.model === '') for (const m of o.models) preds.set(m.model, predict(category, 0.85));
        else {
          preds.set(c.model, predict(category, 0.95)); // the generating model mostly recognises its metamers
          for (const m of o.models) if (m.model !== c.model) preds.set(m.model, predict(category, trueP(0, c.layer_index, c.layers)));
        }
        for (const [m, label] of preds) attributes[`prediction_${m}`] = label;
        if (c.model !== '') attributes.model_prediction = preds.get(c.model)!;
        predictions.set(id, preds);
      }
      categoryOf.set(id, category);
      items.push({
        id,
        file: `${id}.png`,
        category,
        source_id: source,
        condition: c.model === '' ? 'natural' : { model: c.model, layer: c.layer, layer_index: c.layer_index },
        attributes,
      });
    }
  }
  const practiceIds: string[] = [];
  for (let i = 0; i < Math.max(1, o.catchTrials + o.practiceTrials); i++) {
    const id = `practice${i}`;
    practiceIds.push(id);
    items.push({
      id,
      file: `${id}.png`,
      category: categories[i % categories.length]!,
      source_id: `p${i}`,
      condition: 'natural',
      role: 'practice',
    });
  }
  const manifest: ManifestInput = {
    name: o.setName,
    modality: 'image',
    categories,
    models: o.models,
    items,
  };
  const config = StudyConfig.parse({
    id: o.studyId,
    stimulus_set: o.setName,
    modality: 'image',
    prolific: { completion_code: 'DONE1', screenout_code: 'SCREEN1' },
    target_completed: Math.max(1, o.participants),
    exclusions: {
      incomplete: o.exclusions?.incomplete ?? true,
      screened_out: o.exclusions?.screened_out ?? true,
      catch_min_accuracy: o.exclusions?.catch_min_accuracy ?? 0,
      natural_min_accuracy: o.exclusions?.natural_min_accuracy ?? 0,
    },
  });

  const db = openDatabase(dbFile);
  const trials: SyntheticTrial[] = [];
  try {
    const now = Date.UTC(2026, 0, 1);
    db.prepare('INSERT INTO stimulus_sets (name, modality, digest, manifest, imported_at) VALUES (?, ?, ?, ?, ?)').run(
      o.setName,
      'image',
      'f'.repeat(64),
      JSON.stringify(manifest),
      now,
    );
    db.prepare('INSERT INTO studies (id, set_name, config, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      o.studyId,
      o.setName,
      JSON.stringify(config),
      'live',
      now,
      now,
    );
    const insSession = db.prepare(
      `INSERT INTO sessions (id, study_id, prolific_pid, participant_id, slot, state, preview, n_trials, started_at, last_activity_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insTrial = db.prepare(
      `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
                           response, correct, rt_ms, data, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      const total = o.participants + (o.preview ? 1 : 0);
      for (let i = 0; i < total; i++) {
        const preview = i === o.participants ? 1 : 0;
        const state = o.screenedOut.includes(i)
          ? 'screened_out'
          : o.abandoned.includes(i)
            ? 'abandoned'
            : o.started.includes(i)
              ? 'started'
              : 'completed';
        const pid = `PROLIFIC-SECRET-${String(i).padStart(5, '0')}`;
        const participant = `ph${String(i).padStart(5, '0')}`;
        const session = `sess-${o.studyId}-${String(i).padStart(5, '0')}`;
        insSession.run(session, o.studyId, pid, participant, i, state, preview, o.mainTrials, now + i, now + i);
        const ability = (rng.nextFloat() - 0.5) * 0.1;
        let t = 0;
        const write = (
          phase: string,
          stimulus: string,
          category: string,
          model: string,
          layer: string,
          layerIndex: number,
          p: number,
        ): void => {
          const correct = rng.nextFloat() < p ? 1 : 0;
          const response = correct ? category : categories[(categories.indexOf(category) + 1) % categories.length]!;
          const rt = 400 + rng.nextBelow(900);
          insTrial.run(
            session,
            t,
            phase,
            stimulus,
            stimulus.split('-')[0],
            category,
            model,
            layer,
            layerIndex,
            response,
            correct,
            rt,
            `{"response":"${response}","rt":${rt}}`,
            now + i * 1000 + t,
          );
          trials.push({
            participant_id: participant,
            prolific_pid: pid,
            session_id: session,
            state,
            preview,
            phase,
            trial_index: t,
            stimulus_id: stimulus,
            category,
            model,
            layer,
            layer_index: layerIndex,
            correct,
          });
          t++;
        };
        for (let k = 0; k < o.practiceTrials; k++) {
          const id = practiceIds[k % practiceIds.length]!;
          write('practice', id, categories[(k % practiceIds.length) % categories.length]!, '', 'natural', 0, 0.9);
        }
        if (state === 'screened_out') continue;
        const mainCount = state === 'completed' ? o.mainTrials : Math.floor(o.mainTrials / 2);
        for (let s = 0; s < mainCount; s++) {
          const c = conditions[(s + i) % conditions.length]!;
          const source = `src${String(s).padStart(4, '0')}`;
          const id = c.model === '' ? `${source}-natural` : `${source}-${c.model}-${c.layer}`;
          const p = Math.min(1, Math.max(0, trueP(c.modelIndex, c.layer_index, c.layers) + ability));
          write('main', id, categoryOf.get(id)!, c.model, c.layer, c.layer_index, p);
          if (
            o.catchTrials > 0 &&
            s % Math.max(1, Math.floor(o.mainTrials / o.catchTrials)) === 0 &&
            s / Math.floor(o.mainTrials / o.catchTrials) < o.catchTrials
          ) {
            const k = Math.floor(s / Math.max(1, Math.floor(o.mainTrials / o.catchTrials)));
            const pid2 = practiceIds[(o.practiceTrials + k) % practiceIds.length]!;
            write(
              'catch',
              pid2,
              categories[((o.practiceTrials + k) % practiceIds.length) % categories.length]!,
              '',
              'natural',
              0,
              o.inattentive.includes(i) ? 0 : 0.97,
            );
          }
        }
      }
    })();
  } finally {
    db.close();
  }
  return { studyId: o.studyId, setName: o.setName, categories, models: o.models, trials, predictions, categoryOf };
}
