/** Latency and ratio summaries: pure, unit-tested. */

/** Nearest-rank percentile; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Median: the mean of the two middle values for an even count; NaN for no samples. */
export function median(samples: readonly number[]): number {
  const finite = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 === 1 ? (finite[mid] ?? Number.NaN) : ((finite[mid - 1] ?? 0) + (finite[mid] ?? 0)) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(samples: readonly number[]): Spread {
  const finite = samples.filter(Number.isFinite);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

/**
 * weft[i] / baseline[i] for each repetition i measured back to back (drift between repetitions
 * cancels); pairs with a missing or non-positive side are left out.
 */
export function pairedRatios(weft: readonly number[], baseline: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(weft.length, baseline.length); i += 1) {
    const a = weft[i];
    const b = baseline[i];
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) continue;
    ratios.push(a / b);
  }
  return ratios;
}
