import { serializationError, validationError } from './aws-error';

/** Constraints of one member, as in the service model (BOTO, §1.6, §2.2). */
export interface Constraint {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
}

type Obj = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (Array.isArray(value)) return `'[…${value.length} items]'`;
  if (typeof value === 'object') return "'{…}'";
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? `'${value.toString()}'` : "'?'";
}

/**
 * Reads a decoded JSON request the way the AWS JSON protocols do: a member of the wrong JSON
 * type is a deserialization failure (`SerializationException`, thrown at once); a violated model
 * constraint (required, length, range, pattern) is collected and reported together as one
 * `ValidationException` ("N validation errors detected: Value … at 'path' failed to satisfy
 * constraint: …") by {@link InputReader.finish}.
 */
export class InputReader {
  readonly problems: string[] = [];

  /** Parses the raw body; empty means `{}` (what the SDK sends for a unit input). */
  static parse(body: string): Obj {
    if (body.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw serializationError('Start of structure or map found where not expected, or the request body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw serializationError('The request body must be a JSON object');
    }
    return parsed as Obj;
  }

  private fail(value: unknown, path: string, constraint: string): void {
    this.problems.push(`Value ${describe(value)} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  private present(obj: Obj, key: string, path: string, c: Constraint): boolean {
    const v = obj[key];
    if (v === undefined || v === null) {
      if (c.required) this.fail(null, path, 'Member must not be null');
      return false;
    }
    return true;
  }

  private length(value: unknown, len: number, path: string, c: Constraint): void {
    if (c.min !== undefined && len < c.min) this.fail(value, path, `Member must have length greater than or equal to ${c.min}`);
    if (c.max !== undefined && len > c.max) this.fail(value, path, `Member must have length less than or equal to ${c.max}`);
  }

  string(obj: Obj, key: string, path: string, c: Constraint = {}): string | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (typeof v !== 'string') throw serializationError(`Expected a string at '${path}' but found ${typeof v}`);
    this.length(v, v.length, path, c);
    if (c.pattern && !c.pattern.test(v)) this.fail(v, path, `Member must satisfy regular expression pattern: ${c.pattern.source}`);
    return v;
  }

  integer(obj: Obj, key: string, path: string, c: Constraint = {}): number | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw serializationError(`Expected a number at '${path}' but found ${typeof v}`);
    if (!Number.isInteger(v)) {
      this.fail(v, path, 'Member must be an integer');
      return undefined;
    }
    if (c.min !== undefined && v < c.min) this.fail(v, path, `Member must have value greater than or equal to ${c.min}`);
    if (c.max !== undefined && v > c.max) this.fail(v, path, `Member must have value less than or equal to ${c.max}`);
    return v;
  }

  boolean(obj: Obj, key: string, path: string, c: Constraint = {}): boolean | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (typeof v !== 'boolean') throw serializationError(`Expected a boolean at '${path}' but found ${typeof v}`);
    return v;
  }

  /** AWS JSON timestamps are epoch seconds as a JSON number (§1.2); returns epoch ms. */
  timestamp(obj: Obj, key: string, path: string, c: Constraint = {}): number | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw serializationError(`Expected epoch seconds (a JSON number) at '${path}' but found ${typeof v}`);
    }
    return Math.round(v * 1000);
  }

  list(obj: Obj, key: string, path: string, c: Constraint = {}): unknown[] | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (!Array.isArray(v)) throw serializationError(`Expected a list at '${path}' but found ${typeof v}`);
    const items = v as unknown[];
    this.length(items, items.length, path, c);
    return items;
  }

  /** A nested structure (or a map, which has the same JSON form). */
  object(obj: Obj, key: string, path: string, c: Constraint = {}): Obj | undefined {
    if (!this.present(obj, key, path, c)) return undefined;
    const v = obj[key];
    if (typeof v !== 'object' || Array.isArray(v))
      throw serializationError(`Expected a structure at '${path}' but found ${Array.isArray(v) ? 'a list' : typeof v}`);
    const o = v as Obj;
    this.length(o, Object.keys(o).length, path, c);
    return o;
  }

  /** Asserts a list element is a structure. */
  element(value: unknown, path: string): Obj {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw serializationError(`Expected a structure at '${path}'`);
    }
    return value as Obj;
  }

  /** Throws the collected `ValidationException`, if any. */
  finish(): void {
    if (this.problems.length > 0) throw validationError(this.problems.slice(0, 10));
  }
}
