/** Latency summaries for the benchmark scripts. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles of the samples; NaN throughout when there are none. */
export function summarize(samplesMs: ArrayLike<number>): Summary {
  // A typed array sorts numerically and copes with the millions of samples a watch run yields.
  const sorted = Float64Array.from(samplesMs).sort();
  if (sorted.length === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    count: sorted.length,
    p50: at(0.5),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function printTable(rows: Array<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0]);
  const cell = (v: string | number): string => (typeof v === 'number' ? v.toFixed(3) : v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]): string => `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}
