/**
 * Hand-written numeric kernels over Float32Array for the demo's small fixed CNNs.
 *
 * Why hand-written: tfjs's pure-JS CPU backend ran about ten minutes per epoch of 512 48×48
 * images here. Convolution is done as im2col + matrix product, and the matrix products keep a
 * 4×8 block of the output in registers (locals), which V8 compiles to ~2 GMAC/s on this machine
 * against ~0.5 for the textbook triple loop (see `kernel-benchmark.ts`). Arrays are row-major.
 * All kernels accumulate into their output; callers zero it when they need a fresh result.
 */

/** C[M×N] += A[M×K] · B[K×N]. */
export function gemmNN(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array): void {
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    let j = 0;
    for (; j + 7 < N; j += 8) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c04 = 0,
        c05 = 0,
        c06 = 0,
        c07 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0,
        c14 = 0,
        c15 = 0,
        c16 = 0,
        c17 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c24 = 0,
        c25 = 0,
        c26 = 0,
        c27 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0,
        c34 = 0,
        c35 = 0,
        c36 = 0,
        c37 = 0;
      for (let k = 0, bk = j; k < K; k++, bk += N) {
        const x0 = A[a0 + k]!,
          x1 = A[a1 + k]!,
          x2 = A[a2 + k]!,
          x3 = A[a3 + k]!;
        const y0 = B[bk]!,
          y1 = B[bk + 1]!,
          y2 = B[bk + 2]!,
          y3 = B[bk + 3]!;
        const y4 = B[bk + 4]!,
          y5 = B[bk + 5]!,
          y6 = B[bk + 6]!,
          y7 = B[bk + 7]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c04 += x0 * y4;
        c05 += x0 * y5;
        c06 += x0 * y6;
        c07 += x0 * y7;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c14 += x1 * y4;
        c15 += x1 * y5;
        c16 += x1 * y6;
        c17 += x1 * y7;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c24 += x2 * y4;
        c25 += x2 * y5;
        c26 += x2 * y6;
        c27 += x2 * y7;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
        c34 += x3 * y4;
        c35 += x3 * y5;
        c36 += x3 * y6;
        c37 += x3 * y7;
      }
      let o = i * N + j;
      C[o] = C[o]! + c00;
      C[o + 1] = C[o + 1]! + c01;
      C[o + 2] = C[o + 2]! + c02;
      C[o + 3] = C[o + 3]! + c03;
      C[o + 4] = C[o + 4]! + c04;
      C[o + 5] = C[o + 5]! + c05;
      C[o + 6] = C[o + 6]! + c06;
      C[o + 7] = C[o + 7]! + c07;
      o += N;
      C[o] = C[o]! + c10;
      C[o + 1] = C[o + 1]! + c11;
      C[o + 2] = C[o + 2]! + c12;
      C[o + 3] = C[o + 3]! + c13;
      C[o + 4] = C[o + 4]! + c14;
      C[o + 5] = C[o + 5]! + c15;
      C[o + 6] = C[o + 6]! + c16;
      C[o + 7] = C[o + 7]! + c17;
      o += N;
      C[o] = C[o]! + c20;
      C[o + 1] = C[o + 1]! + c21;
      C[o + 2] = C[o + 2]! + c22;
      C[o + 3] = C[o + 3]! + c23;
      C[o + 4] = C[o + 4]! + c24;
      C[o + 5] = C[o + 5]! + c25;
      C[o + 6] = C[o + 6]! + c26;
      C[o + 7] = C[o + 7]! + c27;
      o += N;
      C[o] = C[o]! + c30;
      C[o + 1] = C[o + 1]! + c31;
      C[o + 2] = C[o + 2]! + c32;
      C[o + 3] = C[o + 3]! + c33;
      C[o + 4] = C[o + 4]! + c34;
      C[o + 5] = C[o + 5]! + c35;
      C[o + 6] = C[o + 6]! + c36;
      C[o + 7] = C[o + 7]! + c37;
    }
    for (; j < N; j++) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0, bk = j; k < K; k++, bk += N) {
        const y = B[bk]!;
        s0 += A[a0 + k]! * y;
        s1 += A[a1 + k]! * y;
        s2 += A[a2 + k]! * y;
        s3 += A[a3 + k]! * y;
      }
      const o = i * N + j;
      C[o] = C[o]! + s0;
      C[o + N] = C[o + N]! + s1;
      C[o + 2 * N] = C[o + 2 * N]! + s2;
      C[o + 3 * N] = C[o + 3 * N]! + s3;
    }
  }
  for (; i < M; i++) {
    const ai = i * K;
    const ci = i * N;
    for (let k = 0; k < K; k++) {
      const x = A[ai + k]!;
      if (x === 0) continue;
      const bk = k * N;
      for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + x * B[bk + j]!;
    }
  }
}

/** C[M×N] += A[M×K] · Bt[N×K]ᵀ (both operands contiguous along K). */
export function gemmNT(M: number, N: number, K: number, A: Float32Array, Bt: Float32Array, C: Float32Array): void {
  let i = 0;
  for (; i + 3 < M; i += 4) {
    const a0 = i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!,
          x1 = A[a1 + k]!,
          x2 = A[a2 + k]!,
          x3 = A[a3 + k]!;
        const y0 = Bt[b0 + k]!,
          y1 = Bt[b1 + k]!,
          y2 = Bt[b2 + k]!,
          y3 = Bt[b3 + k]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let o = i * N + j;
      C[o] = C[o]! + c00;
      C[o + 1] = C[o + 1]! + c01;
      C[o + 2] = C[o + 2]! + c02;
      C[o + 3] = C[o + 3]! + c03;
      o += N;
      C[o] = C[o]! + c10;
      C[o + 1] = C[o + 1]! + c11;
      C[o + 2] = C[o + 2]! + c12;
      C[o + 3] = C[o + 3]! + c13;
      o += N;
      C[o] = C[o]! + c20;
      C[o + 1] = C[o + 1]! + c21;
      C[o + 2] = C[o + 2]! + c22;
      C[o + 3] = C[o + 3]! + c23;
      o += N;
      C[o] = C[o]! + c30;
      C[o + 1] = C[o + 1]! + c31;
      C[o + 2] = C[o + 2]! + c32;
      C[o + 3] = C[o + 3]! + c33;
    }
    for (; j < N; j++) {
      const b = j * K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = Bt[b + k]!;
        s0 += A[a0 + k]! * y;
        s1 += A[a1 + k]! * y;
        s2 += A[a2 + k]! * y;
        s3 += A[a3 + k]! * y;
      }
      const o = i * N + j;
      C[o] = C[o]! + s0;
      C[o + N] = C[o + N]! + s1;
      C[o + 2 * N] = C[o + 2 * N]! + s2;
      C[o + 3 * N] = C[o + 3 * N]! + s3;
    }
  }
  for (; i < M; i++) {
    const ai = i * K;
    for (let j = 0; j < N; j++) {
      const b = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[ai + k]! * Bt[b + k]!;
      C[i * N + j] = C[i * N + j]! + s;
    }
  }
}

/** The textbook loop, kept as the benchmark's baseline and the tests' reference. */
export function gemmReference(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k]! * B[k * N + j]!;
      C[i * N + j] = C[i * N + j]! + s;
    }
  }
}

export function transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  }
}

/** Geometry of one 2-D convolution (1-D convolution is the case height = kernel height = 1). */
export interface ConvGeometry {
  inC: number;
  inH: number;
  inW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  outH: number;
  outW: number;
}

export function convGeometry(
  inC: number,
  inH: number,
  inW: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
): ConvGeometry {
  const outH = Math.floor((inH + 2 * padH - kH) / strideH) + 1;
  const outW = Math.floor((inW + 2 * padW - kW) / strideW) + 1;
  if (outH < 1 || outW < 1) throw new Error(`convolution leaves no output: input ${inH}×${inW}, kernel ${kH}×${kW}`);
  return { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW };
}

/** col[(c·kH + i)·kW + j][oh·outW + ow] = x[c][oh·sH + i − pH][ow·sW + j − pW] (0 outside). */
export function im2col(x: Float32Array, g: ConvGeometry, col: Float32Array): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const hw = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const xc = c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        let o = row * hw;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) {
            col.fill(0, o, o + outW);
            o += outW;
            continue;
          }
          const xr = xc + ih * inW;
          let iw = j - padW;
          for (let ow = 0; ow < outW; ow++, o++, iw += strideW) {
            col[o] = iw >= 0 && iw < inW ? x[xr + iw]! : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: scatters (adds) col back onto dx. */
export function col2im(col: Float32Array, g: ConvGeometry, dx: Float32Array): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const hw = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const xc = c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        let o = row * hw;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) {
            o += outW;
            continue;
          }
          const xr = xc + ih * inW;
          let iw = j - padW;
          for (let ow = 0; ow < outW; ow++, o++, iw += strideW) {
            if (iw >= 0 && iw < inW) dx[xr + iw] = dx[xr + iw]! + col[o]!;
          }
        }
      }
    }
  }
}

/** Softmax cross-entropy of logits against one label: returns the loss and writes dLoss/dLogits. */
export function softmaxCrossEntropy(logits: Float32Array, label: number, dLogits: Float32Array | null): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const logSum = Math.log(sum) + max;
  if (dLogits) {
    for (let i = 0; i < logits.length; i++) dLogits[i] = Math.exp(logits[i]! - logSum) - (i === label ? 1 : 0);
  }
  return logSum - logits[label]!;
}

/** ‖a − b‖ / ‖b‖: the paper's normalised activation distance. */
export function normalisedDistance(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const e = a[i]! - b[i]!;
    d += e * e;
    n += b[i]! * b[i]!;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-12);
}
