/**
 * Turns validated trial rows into study counts, one study at a time (rows may carry `study_id`).
 * Both the in-memory API (the dashboard's rows) and the CSV loader feed rows through here.
 */
import { CountsBuilder, type StudyCounts } from './study-counts.ts';
import type { StimulusInfo } from './other-model.ts';
import type { TrialRow } from './trial-row.ts';

export interface AccumulatedStudy {
  counts: StudyCounts;
  /** Main-trial stimuli seen, with their category and condition (for other-model recognizability). */
  stimuli: Map<string, StimulusInfo>;
}

export class TrialAccumulator {
  private readonly builders = new Map<string, { builder: CountsBuilder; stimuli: Map<string, StimulusInfo> }>();

  constructor(
    private readonly defaultStudyId: string,
    private readonly modelOrder?: readonly string[],
  ) {}

  push(row: TrialRow): void {
    const studyId = row.study_id ?? this.defaultStudyId;
    let entry = this.builders.get(studyId);
    if (!entry) {
      entry = { builder: new CountsBuilder(studyId, { modelOrder: this.modelOrder }), stimuli: new Map() };
      this.builders.set(studyId, entry);
    }
    const { builder, stimuli } = entry;
    if (row.preview === 1 || row.preview === true) {
      builder.addPreview(1);
      return;
    }
    const layerIndex = row.layer_index ?? null;
    builder.add(row.participant_id, row.session_state ?? null, row.phase, row.model, row.layer, layerIndex, 1, row.correct);
    if (row.phase !== 'main') return;
    if (row.network) {
      for (const [observer, ok] of Object.entries(row.network)) {
        // A metamer only informs its generating model's accuracy (human vs model); natural stimuli every model's.
        if (row.model === '' || observer === row.model) {
          builder.addObserver(row.participant_id, observer, row.model, row.layer, layerIndex, 1, ok);
        }
      }
    }
    if (row.stimulus_id && row.category !== undefined && !stimuli.has(row.stimulus_id)) {
      stimuli.set(row.stimulus_id, { category: row.category, model: row.model, layer: row.layer, layer_index: layerIndex ?? 0 });
    }
  }

  studies(): AccumulatedStudy[] {
    return [...this.builders.values()].map(({ builder, stimuli }) => {
      const counts = builder.build();
      // Without explicit layer_index the builder numbered layers by appearance; use those numbers.
      const index = new Map(counts.conditions.map((c) => [`${c.model}\u0000${c.layer}`, c.layer_index]));
      for (const s of stimuli.values()) s.layer_index = index.get(`${s.model}\u0000${s.layer}`) ?? s.layer_index;
      return { counts, stimuli };
    });
  }
}
