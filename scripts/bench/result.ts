/**
 * The one machine-readable line each benchmark ends with, for `npm run bench`
 * (scripts/bench/all.ts) to gather into its summary table:
 * `BENCH_RESULT {"benchmark":…,"figure":…,"baseline":…,"ratio":…,"target":…,"met":…}`.
 */
export const RESULT_PREFIX = 'BENCH_RESULT '

export interface BenchResult {
  benchmark: string
  /** The measured figure, as a reader would say it: "1,234 emails/s", "p50 25 ms, p99 34 ms". */
  figure: string
  /** The same-run baseline, or null when the benchmark has none. */
  baseline: string | null
  /** figure ÷ baseline (or baseline time ÷ figure time), null when there is no baseline. */
  ratio: number | null
  target: string
  met: boolean
}

export function reportResult (r: BenchResult): void {
  process.stdout.write(RESULT_PREFIX + JSON.stringify(r) + '\n')
}

/** The BENCH_RESULT lines of a benchmark's output, in order. */
export function resultsIn (output: string): BenchResult[] {
  return output.split('\n').filter(l => l.startsWith(RESULT_PREFIX)).map(l => JSON.parse(l.slice(RESULT_PREFIX.length)) as BenchResult)
}

/** 1234.5 → "1,235". */
export const whole = (n: number): string => Math.round(n).toLocaleString('en-US')
