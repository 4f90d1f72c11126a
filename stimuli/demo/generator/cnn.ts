/**
 * A small fixed CNN: `stages` of convolution + ReLU (strided, no pooling), then global average
 * pooling and a linear read-out. 1-D networks are the same code with height 1. The layers that
 * metamers are made for are the input, each stage's ReLU output and the logits ("final"), as
 * in the paper.
 *
 * One network owns its scratch buffers: `forward` fills them for one example and `backward`
 * reads them, so callers copy out what they need before the next `forward`.
 */
import type { SeededRandom } from './seeded-random.ts';
import { col2im, convGeometry, gemmNN, gemmNT, im2col, transpose, type ConvGeometry } from './tensor-kernels.ts';

export interface StageSpec {
  /** Slug-safe layer name of the stage's ReLU output, e.g. `conv1_relu`. */
  name: string;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

export interface CnnSpec {
  /** [channels, height, width]; 1-D inputs have height 1. */
  input: [number, number, number];
  /** Subtracted from the input before the first stage (centres [0, 1] pixels); the input layer itself stays raw. */
  inputOffset: number;
  stages: StageSpec[];
  classes: number;
}

export const INPUT_LAYER = 'input';
export const FINAL_LAYER = 'final';

/**
 * Surrogate ReLU derivatives for metamer synthesis: the gradient factor at units that are off
 * (1 passes it whole). `matched: 1` is the paper's "fake ReLU" at the matched layer (ReLU forward,
 * identity backward, after the robustness library), so a unit that is off but should be on is
 * pushed on. `below` is our addition for a 200-step budget: a leaky derivative at the ReLUs under
 * the matched layer, without which units that are off in the noise start mostly stay off and the
 * loss at hidden layers stalls at a 10–100-fold reduction. The forward pass, and so every loss and
 * check, always uses the true ReLU.
 */
export interface ReluSurrogate {
  matched: number;
  below: number;
}

interface StagePlan {
  geometry: ConvGeometry;
  outC: number;
  weightOffset: number;
  biasOffset: number;
  /** inC·kH·kW, the length of one filter. */
  fan: number;
}

export class Cnn {
  readonly spec: CnnSpec;
  readonly layerNames: string[];
  readonly params: Float32Array;
  private readonly plans: StagePlan[];
  private readonly fcWeightOffset: number;
  private readonly fcBiasOffset: number;
  private readonly lastC: number;
  private readonly lastHW: number;
  /** acts[0] is the input, acts[s] stage s's ReLU output, acts[S + 1] the logits. */
  readonly acts: Float32Array[];
  private readonly cols: Float32Array[];
  private readonly dcols: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly centred: Float32Array;
  private readonly pooled: Float32Array;
  private readonly dPooled: Float32Array;
  private readonly transposed: Float32Array[];
  private transposedVersion = -1;
  /** Bumped by whoever changes `params`, so the transposed weights are rebuilt lazily. */
  version = 0;

  constructor(spec: CnnSpec, rng: SeededRandom | null) {
    this.spec = spec;
    this.layerNames = [INPUT_LAYER, ...spec.stages.map((s) => s.name), FINAL_LAYER];
    const [c0, h0, w0] = spec.input;
    let inC = c0;
    let inH = h0;
    let inW = w0;
    let offset = 0;
    this.plans = [];
    for (const s of spec.stages) {
      const geometry = convGeometry(inC, inH, inW, s.kH, s.kW, s.strideH, s.strideW, s.padH, s.padW);
      const fan = inC * s.kH * s.kW;
      this.plans.push({ geometry, outC: s.outC, weightOffset: offset, biasOffset: offset + s.outC * fan, fan });
      offset += s.outC * fan + s.outC;
      inC = s.outC;
      inH = geometry.outH;
      inW = geometry.outW;
    }
    this.lastC = inC;
    this.lastHW = inH * inW;
    this.fcWeightOffset = offset;
    this.fcBiasOffset = offset + spec.classes * inC;
    offset += spec.classes * inC + spec.classes;
    this.params = new Float32Array(offset);

    this.acts = [new Float32Array(c0 * h0 * w0)];
    this.centred = new Float32Array(c0 * h0 * w0);
    this.grads = [new Float32Array(c0 * h0 * w0)];
    this.cols = [];
    this.dcols = [];
    this.transposed = [];
    for (const p of this.plans) {
      const hw = p.geometry.outH * p.geometry.outW;
      this.acts.push(new Float32Array(p.outC * hw));
      this.grads.push(new Float32Array(p.outC * hw));
      this.cols.push(new Float32Array(p.fan * hw));
      this.dcols.push(new Float32Array(p.fan * hw));
      this.transposed.push(new Float32Array(p.fan * p.outC));
    }
    this.acts.push(new Float32Array(spec.classes));
    this.grads.push(new Float32Array(spec.classes));
    this.pooled = new Float32Array(this.lastC);
    this.dPooled = new Float32Array(this.lastC);

    if (rng) this.initialise(rng);
  }

  /** He-normal filters (ReLU stages), zero biases, a read-out scaled by 1/√fan-in. */
  private initialise(rng: SeededRandom): void {
    for (const p of this.plans) {
      const std = Math.sqrt(2 / p.fan);
      for (let i = 0; i < p.outC * p.fan; i++) this.params[p.weightOffset + i] = rng.gaussian() * std;
    }
    const std = Math.sqrt(1 / this.lastC);
    for (let i = 0; i < this.spec.classes * this.lastC; i++) this.params[this.fcWeightOffset + i] = rng.gaussian() * std;
    this.version++;
  }

  /**
   * Data-dependent initialisation (after Mishkin & Matas 2016, "LSUV"), stage by stage: scale
   * the filters so the pre-activations over `inputs` have unit variance, and set each channel's
   * bias to minus its mean so about half the units start on. Without normalisation layers this
   * is what keeps training from idling for epochs near chance.
   */
  calibrate(inputs: readonly Float32Array[]): void {
    for (let s = 0; s < this.plans.length; s++) {
      const p = this.plans[s]!;
      const hw = p.geometry.outH * p.geometry.outW;
      for (let c = 0; c < p.outC; c++) this.params[p.biasOffset + c] = 0;
      const sum = new Float64Array(p.outC);
      let sq = 0;
      const pre = new Float32Array(p.outC * hw);
      for (const x of inputs) {
        this.forward(x, s);
        im2col(s === 0 ? this.centred : this.acts[s]!, p.geometry, this.cols[s]!);
        pre.fill(0);
        gemmNN(p.outC, hw, p.fan, this.params.subarray(p.weightOffset, p.weightOffset + p.outC * p.fan), this.cols[s]!, pre);
        for (let c = 0; c < p.outC; c++) {
          for (let i = c * hw; i < (c + 1) * hw; i++) {
            sum[c] = sum[c]! + pre[i]!;
            sq += pre[i]! * pre[i]!;
          }
        }
      }
      const n = inputs.length * hw;
      let variance = sq / (n * p.outC);
      for (let c = 0; c < p.outC; c++) variance -= (sum[c]! / n) ** 2 / p.outC;
      const scale = 1 / Math.sqrt(Math.max(variance, 1e-12));
      for (let i = 0; i < p.outC * p.fan; i++) this.params[p.weightOffset + i] = this.params[p.weightOffset + i]! * scale;
      for (let c = 0; c < p.outC; c++) this.params[p.biasOffset + c] = (-sum[c]! / n) * scale;
      this.version++;
    }
  }

  get inputSize(): number {
    return this.acts[0]!.length;
  }

  get finalIndex(): number {
    return this.plans.length + 1;
  }

  layerIndexOf(name: string): number {
    const i = this.layerNames.indexOf(name);
    if (i < 0) throw new Error(`no layer "${name}" in ${this.layerNames.join(', ')}`);
    return i;
  }

  layerSize(layer: number): number {
    return this.acts[layer]!.length;
  }

  /** Multiply–accumulates of one forward pass up to `layer` (for budgets and benchmarks). */
  macsUpTo(layer: number): number {
    let macs = 0;
    for (let s = 0; s < Math.min(layer, this.plans.length); s++) {
      const p = this.plans[s]!;
      macs += p.outC * p.fan * p.geometry.outH * p.geometry.outW;
    }
    if (layer > this.plans.length) macs += this.spec.classes * this.lastC + this.lastC * this.lastHW;
    return macs;
  }

  /** Runs the network on x up to `upTo` (a layer index; default the logits); returns that layer's activations (a scratch view). */
  forward(x: Float32Array, upTo = this.finalIndex): Float32Array {
    this.acts[0]!.set(x);
    for (let i = 0; i < x.length; i++) this.centred[i] = x[i]! - this.spec.inputOffset;
    const stages = Math.min(upTo, this.plans.length);
    for (let s = 0; s < stages; s++) {
      const p = this.plans[s]!;
      const col = this.cols[s]!;
      const out = this.acts[s + 1]!;
      const hw = p.geometry.outH * p.geometry.outW;
      im2col(s === 0 ? this.centred : this.acts[s]!, p.geometry, col);
      for (let c = 0; c < p.outC; c++) out.fill(this.params[p.biasOffset + c]!, c * hw, (c + 1) * hw);
      gemmNN(p.outC, hw, p.fan, this.params.subarray(p.weightOffset, p.weightOffset + p.outC * p.fan), col, out);
      for (let i = 0; i < out.length; i++) if (out[i]! < 0) out[i] = 0;
    }
    if (upTo > this.plans.length) {
      const last = this.acts[this.plans.length]!;
      for (let c = 0; c < this.lastC; c++) {
        let s = 0;
        for (let i = c * this.lastHW; i < (c + 1) * this.lastHW; i++) s += last[i]!;
        this.pooled[c] = s / this.lastHW;
      }
      const logits = this.acts[this.finalIndex]!;
      for (let k = 0; k < this.spec.classes; k++) {
        let s = this.params[this.fcBiasOffset + k]!;
        const w = this.fcWeightOffset + k * this.lastC;
        for (let c = 0; c < this.lastC; c++) s += this.params[w + c]! * this.pooled[c]!;
        logits[k] = s;
      }
    }
    return this.acts[Math.min(upTo, this.finalIndex)]!;
  }

  /**
   * Back-propagates `grad` (d loss / d activations of `layer`, as left by the last `forward`)
   * to the input. Adds parameter gradients into `paramGrad` when given; returns d loss / d input
   * (a scratch view; stale when `inputGrad` is false). With a `surrogate`, ReLUs that are off pass
   * a fraction of the gradient instead of none (see `ReluSurrogate`); without one, the true gradient.
   */
  backward(
    layer: number,
    grad: Float32Array,
    paramGrad: Float32Array | null,
    inputGrad = true,
    surrogate: ReluSurrogate | null = null,
  ): Float32Array {
    this.refreshTransposed();
    const S = this.plans.length;
    if (layer === 0) {
      this.grads[0]!.set(grad);
      return this.grads[0]!;
    }
    if (layer > S) {
      const dLast = this.grads[S]!;
      this.dPooled.fill(0);
      for (let k = 0; k < this.spec.classes; k++) {
        const g = grad[k]!;
        const w = this.fcWeightOffset + k * this.lastC;
        for (let c = 0; c < this.lastC; c++) this.dPooled[c] = this.dPooled[c]! + g * this.params[w + c]!;
        if (paramGrad) {
          paramGrad[this.fcBiasOffset + k] = paramGrad[this.fcBiasOffset + k]! + g;
          for (let c = 0; c < this.lastC; c++) paramGrad[w + c] = paramGrad[w + c]! + g * this.pooled[c]!;
        }
      }
      for (let c = 0; c < this.lastC; c++) dLast.fill(this.dPooled[c]! / this.lastHW, c * this.lastHW, (c + 1) * this.lastHW);
    } else {
      this.grads[layer]!.set(grad);
    }
    for (let s = Math.min(layer, S); s >= 1; s--) {
      const p = this.plans[s - 1]!;
      const hw = p.geometry.outH * p.geometry.outW;
      const g = this.grads[s]!;
      const out = this.acts[s]!;
      const leak = surrogate ? (s === layer ? surrogate.matched : surrogate.below) : 0;
      if (leak !== 1) for (let i = 0; i < g.length; i++) if (out[i]! <= 0) g[i] = g[i]! * leak;
      if (paramGrad) {
        gemmNT(p.outC, p.fan, hw, g, this.cols[s - 1]!, paramGrad.subarray(p.weightOffset, p.weightOffset + p.outC * p.fan));
        for (let c = 0; c < p.outC; c++) {
          let sum = 0;
          for (let i = c * hw; i < (c + 1) * hw; i++) sum += g[i]!;
          paramGrad[p.biasOffset + c] = paramGrad[p.biasOffset + c]! + sum;
        }
      }
      // Training without an input gradient stops at the first stage's filters.
      if (s === 1 && !inputGrad) break;
      const dcol = this.dcols[s - 1]!;
      dcol.fill(0);
      gemmNN(p.fan, hw, p.outC, this.transposed[s - 1]!, g, dcol);
      const dx = this.grads[s - 1]!;
      dx.fill(0);
      col2im(dcol, p.geometry, dx);
    }
    return this.grads[0]!;
  }

  private refreshTransposed(): void {
    if (this.transposedVersion === this.version) return;
    for (let s = 0; s < this.plans.length; s++) {
      const p = this.plans[s]!;
      transpose(this.params.subarray(p.weightOffset, p.weightOffset + p.outC * p.fan), p.outC, p.fan, this.transposed[s]!);
    }
    this.transposedVersion = this.version;
  }

  predict(x: Float32Array): number {
    const logits = this.forward(x);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }

  /** A copy of the activations of `layer` for x. */
  activations(x: Float32Array, layer: number): Float32Array {
    return Float32Array.from(this.forward(x, layer));
  }
}
