/**
 * How a benchmark reports a figure: printed beside the reference measured in the same run, and,
 * when `npm run bench` collects them (BENCH_RESULTS_FILE), appended as one JSON line for
 * bench/results.json. A figure without a reference is printed on its own (ratio null).
 */
import { appendFileSync } from 'node:fs';

export interface Figure {
  /** What is measured, e.g. "GET /v1/access by LicenseArn". */
  readonly figure: string;
  readonly unit: string;
  /** min, median and max over the rounds (a single measurement repeats one value). */
  readonly rounds: readonly number[];
  readonly reference?: { readonly name: string; readonly rounds: readonly number[] } | undefined;
  /** The target, as a ratio to the reference (figure ÷ reference), e.g. 0.6. */
  readonly target?: number | undefined;
  /** True when less is better (latency, memory): the ratio is then reference ÷ figure. */
  readonly lowerIsBetter?: boolean | undefined;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const spread = (r: readonly number[]) =>
  r.length > 1 ? `${fmt(median(r))} (min ${fmt(Math.min(...r))}, max ${fmt(Math.max(...r))})` : fmt(r[0]!);

export function reportFigure(f: Figure): void {
  const value = median(f.rounds);
  const ref = f.reference ? median(f.reference.rounds) : null;
  const ratio = ref === null || ref === 0 || value === 0 ? null : f.lowerIsBetter ? ref / value : value / ref;
  const met = ratio === null || f.target === undefined ? null : ratio >= f.target;
  process.stdout.write(
    `   ${f.figure}: ${spread(f.rounds)} ${f.unit}` +
      (f.reference ? ` | ${f.reference.name}: ${spread(f.reference.rounds)} ${f.unit} | ratio ${ratio?.toFixed(2) ?? 'n/a'}` : '') +
      (f.target !== undefined ? ` (target ≥ ${f.target}${met === null ? '' : met ? ', met' : ', not met'})` : '') +
      '\n',
  );
  const file = process.env.BENCH_RESULTS_FILE;
  if (file) {
    appendFileSync(
      file,
      JSON.stringify({
        figure: f.figure,
        unit: f.unit,
        value,
        rounds: f.rounds,
        reference: f.reference ? { name: f.reference.name, value: ref, rounds: f.reference.rounds } : null,
        ratio,
        target: f.target ?? null,
        met,
      }) + '\n',
    );
  }
}
