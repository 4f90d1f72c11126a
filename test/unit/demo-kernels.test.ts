import { describe, expect, it } from 'vitest';
import { Cnn, type CnnSpec } from '../../stimuli/demo/generator/cnn.ts';
import { SeededRandom } from '../../stimuli/demo/generator/seeded-random.ts';
import {
  col2im,
  convGeometry,
  gemmNN,
  gemmNT,
  gemmReference,
  im2col,
  softmaxCrossEntropy,
  transpose,
} from '../../stimuli/demo/generator/tensor-kernels.ts';

function randomArray(rng: SeededRandom, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.gaussian());
}

function expectClose(actual: Float32Array, expected: Float32Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `index ${i}`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i]!)));
  }
}

describe('matrix products', () => {
  // Sizes chosen to hit every tail: rows not a multiple of 4, columns not a multiple of 8 or 4.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [4, 8, 3],
    [5, 9, 7],
    [7, 13, 2],
    [12, 30, 17],
    [3, 4, 40],
  ];

  it('gemmNN accumulates A·B like the textbook loop', () => {
    const rng = new SeededRandom(1);
    for (const [M, N, K] of shapes) {
      const A = randomArray(rng, M * K);
      const B = randomArray(rng, K * N);
      const start = randomArray(rng, M * N);
      const fast = Float32Array.from(start);
      const slow = Float32Array.from(start);
      gemmNN(M, N, K, A, B, fast);
      gemmReference(M, N, K, A, B, slow);
      expectClose(fast, slow, 1e-5);
    }
  });

  it('gemmNT multiplies by the transpose of its second operand', () => {
    const rng = new SeededRandom(2);
    for (const [M, N, K] of shapes) {
      const A = randomArray(rng, M * K);
      const Bt = randomArray(rng, N * K);
      const B = new Float32Array(K * N);
      transpose(Bt, N, K, B);
      const fast = new Float32Array(M * N);
      const slow = new Float32Array(M * N);
      gemmNT(M, N, K, A, Bt, fast);
      gemmReference(M, N, K, A, B, slow);
      expectClose(fast, slow, 1e-5);
    }
  });

  it('col2im is the adjoint of im2col (⟨im2col x, y⟩ = ⟨x, col2im y⟩)', () => {
    const rng = new SeededRandom(3);
    const g = convGeometry(3, 7, 9, 3, 4, 2, 3, 1, 2);
    const x = randomArray(rng, 3 * 7 * 9);
    const y = randomArray(rng, 3 * 3 * 4 * g.outH * g.outW);
    const col = new Float32Array(y.length);
    im2col(x, g, col);
    const back = new Float32Array(x.length);
    col2im(y, g, back);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += col[i]! * y[i]!;
    for (let i = 0; i < x.length; i++) rhs += x[i]! * back[i]!;
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * (1 + Math.abs(lhs)));
  });
});

const image2d: CnnSpec = {
  input: [2, 9, 11],
  inputOffset: 0.5,
  stages: [
    { name: 'conv1_relu', outC: 5, kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
    { name: 'conv2_relu', outC: 6, kH: 3, kW: 2, strideH: 1, strideW: 2, padH: 1, padW: 0 },
  ],
  classes: 4,
};
const audio1d: CnnSpec = {
  input: [1, 1, 40],
  inputOffset: 0,
  stages: [
    { name: 'conv1_relu', outC: 4, kH: 1, kW: 6, strideH: 1, strideW: 3, padH: 0, padW: 2 },
    { name: 'conv2_relu', outC: 5, kH: 1, kW: 3, strideH: 1, strideW: 2, padH: 0, padW: 1 },
  ],
  classes: 3,
};

/**
 * Central differences in float32 activations: h = 1e-3 keeps rounding error near 1e-3 relative
 * while rarely moving a ReLU across its kink; a coordinate agrees within 3% (plus a small
 * absolute floor for near-zero derivatives). A difference straddling a kink is wrong by design,
 * so up to 1 in 20 coordinates may disagree; a wrong kernel fails nearly all of them.
 */
function checkGradients(spec: CnnSpec, seed: number): void {
  const rng = new SeededRandom(seed);
  const net = new Cnn(spec, rng.fork('init'));
  // Non-zero biases, so their gradients are exercised at a generic point.
  for (let i = 0; i < net.params.length; i++) if (net.params[i] === 0) net.params[i] = 0.1 * rng.gaussian();
  net.version++;
  const x = randomArray(rng, net.inputSize);
  const label = 1;
  const lossAt = (input: Float32Array): number => softmaxCrossEntropy(net.forward(input), label, null);

  const dLogits = new Float32Array(spec.classes);
  softmaxCrossEntropy(net.forward(x), label, dLogits);
  const paramGrad = new Float32Array(net.params.length);
  const inputGrad = Float32Array.from(net.backward(net.finalIndex, dLogits, paramGrad));

  const h = 1e-3;
  let checked = 0;
  let disagree = 0;
  const agrees = (numeric: number, analytic: number): boolean => Math.abs(numeric - analytic) <= 0.03 * Math.abs(numeric) + 2e-3;
  for (let i = 0; i < net.params.length; i += Math.max(1, Math.floor(net.params.length / 60))) {
    const keep = net.params[i]!;
    net.params[i] = keep + h;
    net.version++;
    const up = lossAt(x);
    net.params[i] = keep - h;
    net.version++;
    const down = lossAt(x);
    net.params[i] = keep;
    net.version++;
    const numeric = (up - down) / (2 * h);
    if (!agrees(numeric, paramGrad[i]!)) disagree++;
    checked++;
  }
  for (let i = 0; i < x.length; i += 3) {
    const xp = Float32Array.from(x);
    xp[i] = x[i]! + h;
    const up = lossAt(xp);
    xp[i] = x[i]! - h;
    const down = lossAt(xp);
    const numeric = (up - down) / (2 * h);
    if (!agrees(numeric, inputGrad[i]!)) disagree++;
    checked++;
  }
  expect(checked).toBeGreaterThan(20);
  expect(disagree, `${disagree} of ${checked} coordinates disagree`).toBeLessThanOrEqual(Math.floor(checked / 20));
  // The gradient must not be trivially zero (a dead network would pass the comparisons above).
  expect(Math.max(...Array.from(paramGrad, Math.abs))).toBeGreaterThan(1e-3);
}

describe('CNN gradients agree with finite differences', () => {
  it('2-D network, softmax cross-entropy, parameters and input', () => checkGradients(image2d, 11));
  it('1-D network (height 1), softmax cross-entropy, parameters and input', () => checkGradients(audio1d, 12));

  it('gradient of an activation-matching loss at an intermediate layer', () => {
    const rng = new SeededRandom(13);
    const net = new Cnn(image2d, rng.fork('init'));
    const target = net.activations(randomArray(rng, net.inputSize), 1);
    const x = randomArray(rng, net.inputSize);
    const loss = (input: Float32Array): number => {
      const a = net.forward(input, 1);
      let s = 0;
      for (let i = 0; i < a.length; i++) s += 0.5 * (a[i]! - target[i]!) ** 2;
      return s;
    };
    const a = net.forward(x, 1);
    const g = Float32Array.from(a, (v, i) => v - target[i]!);
    const grad = Float32Array.from(net.backward(1, g, null));
    const h = 1e-3;
    for (let i = 0; i < x.length; i += 2) {
      const xp = Float32Array.from(x);
      xp[i] = x[i]! + h;
      const up = loss(xp);
      xp[i] = x[i]! - h;
      const down = loss(xp);
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - grad[i]!), `input ${i}`).toBeLessThanOrEqual(0.03 * Math.abs(numeric) + 2e-3);
    }
  });
});
