/** Interleaved repetitions and small concurrency helpers: pure control flow, unit-tested. */

export interface Contender<T> {
  name: string;
  run(rep: number): Promise<T>;
}

/**
 * Runs the contenders in turn, A B C A B C…, `reps` times, so that drift and the noise of other
 * processes hit them alike. Answers each contender's results in repetition order.
 */
export async function runInterleaved<T>(input: {
  reps: number;
  contenders: ReadonlyArray<Contender<T>>;
  onRun?: (name: string, rep: number) => void;
}): Promise<T[][]> {
  const results: T[][] = input.contenders.map(() => []);
  for (let rep = 0; rep < input.reps; rep += 1) {
    for (const [i, contender] of input.contenders.entries()) {
      input.onRun?.(contender.name, rep);
      results[i]?.push(await contender.run(rep));
    }
  }
  return results;
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<I, O>(items: readonly I[], limit: number, fn: (item: I, index: number) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array<O>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      out[index] = await fn(items[index] as I, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
}
