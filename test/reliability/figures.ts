import { appendFileSync } from 'node:fs';

/** How many cases a reliability run makes per entry point: 10,000 in the full run, fewer in the CI subset. */
export const FULL = process.env.RELIABILITY_FULL === '1';

export function cases(full: number, subset: number): number {
  return FULL ? full : subset;
}

/** A seed from RELIABILITY_SEED (replay) or a fresh one, printed so a failure can be replayed. */
export function seedFor(suite: string): number {
  const seed = process.env.RELIABILITY_SEED ? Number(process.env.RELIABILITY_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  process.stdout.write(`${suite}: seed ${seed} — replay with RELIABILITY_SEED=${seed}\n`);
  return seed;
}

/** Appends one line of figures to RELIABILITY_REPORT (JSON lines), for docs/reliability.md. */
export function report(figures: Record<string, unknown>): void {
  const file = process.env.RELIABILITY_REPORT;
  if (file) appendFileSync(file, `${JSON.stringify(figures)}\n`);
}
