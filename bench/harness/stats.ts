/** Summary statistics for repeated benchmark runs. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/** Median, min and max of `values` (which must not be empty). */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: values };
}

/** A distribution-free confidence interval for the median: two order statistics of the runs. */
export interface MedianInterval {
  readonly low: number;
  readonly high: number;
  /** The probability that the true median lies in [low, high]. */
  readonly confidence: number;
}

/**
 * The narrowest interval [x(k), x(n−k+1)] of the sorted `values` that holds the median with at least `wanted`
 * probability (the binomial sign-test interval: each run falls below the true median with probability ½). With 5
 * runs that is [min, max] at 93.8%; with 9 runs, the second-lowest to the second-highest at 96.1%.
 */
export function medianInterval(values: readonly number[], wanted = 0.9): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let k = 1;
  // P(true median outside [x(k+1), x(n−k)]) = 2 · P(Binomial(n, ½) ≤ k).
  while (k + 1 <= n - k && 1 - 2 * binomialAtMost(n, k) >= wanted) k += 1;
  return {
    low: sorted[k - 1] as number,
    high: sorted[n - k] as number,
    confidence: 1 - 2 * binomialAtMost(n, k - 1),
  };
}

/** P(Binomial(n, ½) ≤ k). */
function binomialAtMost(n: number, k: number): number {
  let term = 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}
