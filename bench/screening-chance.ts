/**
 * The chance that a participant (or a script) answering at random passes the gates, from the
 * protocol's numbers (server/study-config.ts): the binomial tail P(X ≥ k), X ~ Binomial(n, p),
 * with p = 1 / (number of choices). Printed as the table in docs/integrity.md.
 *
 *   node --import tsx bench/screening-chance.ts
 */

/** P(X ≥ k) for X ~ Binomial(n, p), summed exactly in floating point (n is small). */
export function binomialTail(n: number, k: number, p: number): number {
  let total = 0;
  let choose = 1; // C(n, 0)
  for (let i = 0; i <= n; i++) {
    if (i > 0) choose = (choose * (n - i + 1)) / i;
    if (i >= k) total += choose * p ** i * (1 - p) ** (n - i);
  }
  return total;
}

const rows: [string, number, number, number][] = [
  ['image screening: 12 trials, ≥ 7 correct, 16 categories', 12, 7, 1 / 16],
  ['audio screening, typed: 12 trials, ≥ 5 correct, 793 words', 12, 5, 1 / 793],
  ['audio screening, buttons: 12 trials, ≥ 5 correct, 20 buttons', 12, 5, 1 / 20],
  ['audio screening, buttons: 12 trials, ≥ 5 correct, 8 buttons', 12, 5, 1 / 8],
  ['headphone check: 6 trials, ≥ 5 correct, 3 intervals', 6, 5, 1 / 3],
];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [what, n, k, p] of rows) console.log(`${what}: P(pass at random) = ${binomialTail(n, k, p).toExponential(2)}`);
  const headphone = binomialTail(6, 5, 1 / 3);
  console.log(`audio, headphone check then typed screening: ${(headphone * binomialTail(12, 5, 1 / 793)).toExponential(2)}`);
  console.log(`audio, headphone check then 20-button screening: ${(headphone * binomialTail(12, 5, 1 / 20)).toExponential(2)}`);
}
