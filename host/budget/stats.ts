// Confidence intervals for a failure probability estimated from n independent trials with k
// failures. Clopper–Pearson is exact (it inverts the binomial test, so its coverage is at least
// the nominal level, which is what a design review wants when k is 0); Wilson is reported beside
// it. With k = 0 of n the Clopper–Pearson upper bound is 1 − (α/2)^(1/n) ≈ 3.69/n at 95 %.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; about 15 significant digits). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, p), summed in log space. */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const lnN = lnGamma(n + 1);
  let max = -Infinity;
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) {
    const t = lnN - lnGamma(i + 1) - lnGamma(n - i + 1) + i * lp + (n - i) * lq;
    terms.push(t);
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max) * sum);
}

/** The p in [0, 1] where f (monotone) crosses target, by bisection. */
function solve(f: (p: number) => number, target: number, increasing: boolean): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target === increasing) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Exact (Clopper–Pearson) two-sided interval at confidence 1 − alpha. */
export function clopperPearson(k: number, n: number, alpha = 0.05): [number, number] {
  if (n <= 0) return [0, 1];
  const lower = k === 0 ? 0 : solve((p) => 1 - binomialCdf(k - 1, n, p), alpha / 2, true);
  const upper = k === n ? 1 : solve((p) => binomialCdf(k, n, p), alpha / 2, false);
  return [lower, upper];
}

/** Wilson score interval at 95 % (z = 1.959964). */
export function wilson(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = ((z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) as number;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
