/**
 * The typed-array form every analysis runs on: per participant × condition, the number of main
 * trials and of correct ones (plus catch-trial counts and, when known, each observer model's
 * correct counts on the same stimuli). Loaders fill it from SQLite groups or CSV rows; nothing
 * downstream sees a per-trial object.
 */
import { AnalysisInputError } from './input-error.ts';
import { NATURAL_LAYER, type Phase, type SessionState } from './trial-row.ts';

export interface Condition {
  /** '' for the natural condition. */
  model: string;
  layer: string;
  layer_index: number;
}

export interface ObserverCounts {
  correct: Uint32Array;
  total: Uint32Array;
}

export interface StudyCounts {
  study_id: string;
  participants: string[];
  /** Per participant; null when the input carries no session state (e.g. a minimal CSV). */
  states: (SessionState | null)[];
  /** Natural first, then models in order, layers by layer_index. */
  conditions: Condition[];
  /** Main-phase counts, participant-major: index p * conditions.length + c. */
  correct: Uint32Array;
  total: Uint32Array;
  catchCorrect: Uint32Array;
  catchTotal: Uint32Array;
  /** Observer model → its correct/total counts on the main trials each participant saw. */
  network: Map<string, ObserverCounts>;
  /** Preview sessions' trials (experimenter previews), dropped before anything else. */
  previewTrials: number;
}

export function conditionLabel(c: Condition): string {
  return c.model === '' ? NATURAL_LAYER : `${c.model}/${c.layer}`;
}

export function isNaturalCondition(c: Condition): boolean {
  return c.model === '' && c.layer === NATURAL_LAYER;
}

/** Models in table order. */
export function modelsOf(counts: Pick<StudyCounts, 'conditions'>): string[] {
  const seen: string[] = [];
  for (const c of counts.conditions) if (c.model !== '' && !seen.includes(c.model)) seen.push(c.model);
  return seen;
}

// A participant who completed any session counts as completed (a CSV may hold several sessions of
// one person); otherwise the most advanced state wins.
const STATE_RANK: Record<SessionState, number> = { started: 0, abandoned: 1, screened_out: 2, completed: 3 };

interface CellCounts {
  k: number[];
  n: number[];
}

export interface CountsBuilderOptions {
  /** Model order for the table (e.g. the manifest's); models not listed follow in order of appearance. */
  modelOrder?: readonly string[];
}

/**
 * Accumulates counts group by group. `add` takes already-aggregated groups (n trials, k correct),
 * so a SQL GROUP BY and a row-by-row CSV reader feed it alike.
 */
export class CountsBuilder {
  private readonly participantIndex = new Map<string, number>();
  private readonly participants: string[] = [];
  private readonly states: (SessionState | null)[] = [];
  private readonly conditionIndex = new Map<string, number>();
  private readonly conditions: { model: string; layer: string; layer_index: number | null }[] = [];
  private readonly main: CellCounts[] = [];
  private readonly catchK: number[] = [];
  private readonly catchN: number[] = [];
  private readonly network = new Map<string, CellCounts[]>();
  private previewTrials = 0;
  private explicitIndex: boolean | null = null;

  constructor(
    readonly study_id: string,
    private readonly options: CountsBuilderOptions = {},
  ) {}

  /** Registers a participant (also one without analysable trials, so that exclusions can count them). */
  participant(id: string, state: SessionState | null): number {
    let p = this.participantIndex.get(id);
    if (p === undefined) {
      p = this.participants.length;
      this.participantIndex.set(id, p);
      this.participants.push(id);
      this.states.push(state);
      this.main.push({ k: [], n: [] });
      this.catchK.push(0);
      this.catchN.push(0);
      return p;
    }
    const old = this.states[p]!;
    if (state !== null && (old === null || STATE_RANK[state] > STATE_RANK[old])) this.states[p] = state;
    return p;
  }

  addPreview(trials: number): void {
    this.previewTrials += trials;
  }

  /**
   * Adds `n` trials of which `k` were correct. Throws AnalysisInputError (without location; the
   * loader prefixes file and line) when the condition contradicts an earlier one.
   */
  add(
    participantId: string,
    state: SessionState | null,
    phase: Phase,
    model: string,
    layer: string,
    layerIndex: number | null,
    n: number,
    k: number,
  ): void {
    const p = this.participant(participantId, state);
    if (phase === 'catch') {
      this.catchK[p]! += k;
      this.catchN[p]! += n;
      return;
    }
    if (phase !== 'main') return;
    const c = this.condition(model, layer, layerIndex);
    const cell = this.main[p]!;
    cell.k[c] = (cell.k[c] ?? 0) + k;
    cell.n[c] = (cell.n[c] ?? 0) + n;
  }

  /** Adds an observer model's correct/total counts on main trials of a condition. */
  addObserver(
    participantId: string,
    observer: string,
    model: string,
    layer: string,
    layerIndex: number | null,
    n: number,
    k: number,
  ): void {
    const p = this.participant(participantId, null);
    const c = this.condition(model, layer, layerIndex);
    let cells = this.network.get(observer);
    if (!cells) {
      cells = [];
      this.network.set(observer, cells);
    }
    const cell = (cells[p] ??= { k: [], n: [] });
    cell.k[c] = (cell.k[c] ?? 0) + k;
    cell.n[c] = (cell.n[c] ?? 0) + n;
  }

  private condition(model: string, layer: string, layerIndex: number | null): number {
    const key = `${model}\u0000${layer}`;
    if (this.explicitIndex === null) this.explicitIndex = layerIndex !== null;
    else if (this.explicitIndex !== (layerIndex !== null)) {
      throw new AnalysisInputError('layer_index is given for some trials but not for others');
    }
    const natural = model === '' && layer === NATURAL_LAYER;
    if (natural && layerIndex !== null && layerIndex !== 0) {
      throw new AnalysisInputError(`layer_index must be 0 for natural stimuli (got ${layerIndex})`);
    }
    let c = this.conditionIndex.get(key);
    if (c === undefined) {
      c = this.conditions.length;
      this.conditionIndex.set(key, c);
      this.conditions.push({ model, layer, layer_index: natural ? 0 : layerIndex });
      return c;
    }
    const known = this.conditions[c]!;
    if (!natural && layerIndex !== null && known.layer_index !== layerIndex) {
      throw new AnalysisInputError(`layer_index of ${model}/${layer} is ${layerIndex} here but ${known.layer_index} in earlier trials`);
    }
    return c;
  }

  build(): StudyCounts {
    const order = this.conditionOrder();
    const C = order.length;
    const P = this.participants.length;
    const correct = new Uint32Array(P * C);
    const total = new Uint32Array(P * C);
    for (let p = 0; p < P; p++) {
      const cell = this.main[p]!;
      for (let c = 0; c < C; c++) {
        const src = order[c]!;
        correct[p * C + c] = cell.k[src] ?? 0;
        total[p * C + c] = cell.n[src] ?? 0;
      }
    }
    const network = new Map<string, ObserverCounts>();
    for (const [observer, cells] of this.network) {
      const oc = new Uint32Array(P * C);
      const ot = new Uint32Array(P * C);
      for (let p = 0; p < P; p++) {
        const cell = cells[p];
        if (!cell) continue;
        for (let c = 0; c < C; c++) {
          const src = order[c]!;
          oc[p * C + c] = cell.k[src] ?? 0;
          ot[p * C + c] = cell.n[src] ?? 0;
        }
      }
      network.set(observer, { correct: oc, total: ot });
    }
    return {
      study_id: this.study_id,
      participants: [...this.participants],
      states: [...this.states],
      conditions: order.map((src) => {
        const c = this.conditions[src]!;
        return { model: c.model, layer: c.layer, layer_index: c.layer_index ?? 0 };
      }),
      correct,
      total,
      catchCorrect: Uint32Array.from(this.catchK),
      catchTotal: Uint32Array.from(this.catchN),
      network,
      previewTrials: this.previewTrials,
    };
  }

  /**
   * Natural first; models in the given order, then by first appearance; layers by layer_index, or
   * — when the input has no layer_index — by first appearance, numbered from 1 (docs/design.md §4).
   */
  private conditionOrder(): number[] {
    const models: string[] = [...(this.options.modelOrder ?? [])];
    for (const c of this.conditions) if (c.model !== '' && !models.includes(c.model)) models.push(c.model);
    const out: number[] = [];
    const natural = this.conditionIndex.get(`\u0000${NATURAL_LAYER}`);
    if (natural !== undefined) out.push(natural);
    for (const model of models) {
      const ofModel: number[] = [];
      this.conditions.forEach((c, i) => {
        if (c.model === model) ofModel.push(i);
      });
      if (this.explicitIndex) {
        ofModel.sort((x, y) => this.conditions[x]!.layer_index! - this.conditions[y]!.layer_index!);
        for (let i = 1; i < ofModel.length; i++) {
          const a = this.conditions[ofModel[i - 1]!]!;
          const b = this.conditions[ofModel[i]!]!;
          if (a.layer_index === b.layer_index) {
            throw new AnalysisInputError(`layers ${a.layer} and ${b.layer} of model ${model} have the same layer_index ${a.layer_index}`);
          }
        }
      } else {
        for (const [pos, i] of ofModel.entries()) this.conditions[i]!.layer_index = pos + 1;
      }
      out.push(...ofModel);
    }
    return out;
  }
}
