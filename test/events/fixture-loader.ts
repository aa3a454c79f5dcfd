import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The raw text of a fixture under test/events/fixtures. */
export function fixtureText(name: string): string {
  return readFileSync(join(__dirname, 'fixtures', name), 'utf8');
}

/** A fixture parsed as a JSON object. */
export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}
