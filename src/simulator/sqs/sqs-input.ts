import { serializationError } from '../aws-error';
import type { StoredAttribute } from './md5';
import { sqsErrors } from './sqs-errors';

/*
 * Input readers for SQS. SQS reports a missing member as `MissingParameter` and a bad value as
 * `InvalidParameterValue` (its query-era codes); a member of the wrong JSON type cannot be
 * deserialized (`SerializationException`).
 */

export type Obj = Record<string, unknown>;

export function str(input: Obj, name: string, required: true): string;
export function str(input: Obj, name: string, required?: false): string | undefined;
export function str(input: Obj, name: string, required = false): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required) throw sqsErrors.missingParameter(name);
    return undefined;
  }
  if (typeof v !== 'string') throw serializationError(`Expected a string for ${name}`);
  if (required && v === '') throw sqsErrors.missingParameter(name);
  return v;
}

/** An integer member within [min, max]; Query-protocol callers pass numeric strings, accepted too. */
export function int(input: Obj, name: string, min: number, max: number): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number') throw serializationError(`Expected a number for ${name}`);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw sqsErrors.invalidParameterValue(
      `Value ${typeof v === 'string' ? v : JSON.stringify(v)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return n;
}

export function list(input: Obj, name: string): unknown[] | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw serializationError(`Expected a list for ${name}`);
  return v as unknown[];
}

export function stringList(input: Obj, name: string): string[] {
  const v = list(input, name) ?? [];
  for (const s of v) if (typeof s !== 'string') throw serializationError(`Expected strings in ${name}`);
  return v as string[];
}

export function map(input: Obj, name: string): Obj | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw serializationError(`Expected a map for ${name}`);
  return v as Obj;
}

const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;

/** Validates message attributes (≤10; String/Number/Binary data types, optionally with a custom suffix). */
export function messageAttributes(input: Obj): Record<string, StoredAttribute> {
  const raw = map(input, 'MessageAttributes') ?? {};
  const names = Object.keys(raw);
  if (names.length > 10)
    throw sqsErrors.invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  const out: Record<string, StoredAttribute> = {};
  for (const name of names) {
    if (!ATTRIBUTE_NAME.test(name) || /^(aws\.|amazon\.)/i.test(name)) {
      throw sqsErrors.invalidParameterValue(`Message attribute name '${name}' is invalid.`);
    }
    const a = raw[name];
    if (!a || typeof a !== 'object') throw serializationError(`Expected a structure for message attribute ${name}`);
    const attr = a as Obj;
    const dataType = str(attr, 'DataType');
    if (!dataType) throw sqsErrors.invalidParameterValue(`The message attribute '${name}' must contain a non-empty attribute type.`);
    const base = dataType.split('.')[0];
    if (base === 'String' || base === 'Number') {
      const value = str(attr, 'StringValue');
      if (value === undefined || value === '')
        throw sqsErrors.invalidParameterValue(
          `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${base}'.`,
        );
      if (base === 'Number' && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
        throw sqsErrors.invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
      }
      out[name] = { DataType: dataType, StringValue: value };
    } else if (base === 'Binary') {
      const value = str(attr, 'BinaryValue');
      if (!value)
        throw sqsErrors.invalidParameterValue(
          `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type 'Binary'.`,
        );
      out[name] = { DataType: dataType, BinaryValue: Buffer.from(value, 'base64') };
    } else {
      throw sqsErrors.invalidParameterValue(
        `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
  }
  return out;
}

/** Renders stored attributes in JSON wire form (binary as base64). */
export function renderAttributes(attrs: Record<string, StoredAttribute>): Obj {
  const out: Obj = {};
  for (const [name, a] of Object.entries(attrs)) {
    out[name] =
      a.BinaryValue !== undefined
        ? { DataType: a.DataType, BinaryValue: a.BinaryValue.toString('base64') }
        : { DataType: a.DataType, StringValue: a.StringValue };
  }
  return out;
}

/** Size of a message as SQS counts it: body plus attribute names, types and values. */
export function messageSize(body: string, attrs: Record<string, StoredAttribute>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, a] of Object.entries(attrs)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + (a.BinaryValue?.length ?? Buffer.byteLength(a.StringValue ?? ''));
  }
  return size;
}

// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF
const ALLOWED_BODY = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

export function checkBody(body: string): void {
  if (!ALLOWED_BODY.test(body))
    throw sqsErrors.invalidMessageContents(
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
}

const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Common batch checks: present, 1–10 entries, valid and distinct Ids. */
export function batchEntries(input: Obj, name: string): Obj[] {
  const entries = list(input, name);
  if (!entries || entries.length === 0) throw sqsErrors.emptyBatch();
  if (entries.length > 10) throw sqsErrors.tooManyEntries(entries.length);
  const seen = new Set<string>();
  return entries.map((e) => {
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw serializationError(`Expected structures in ${name}`);
    const id = str(e as Obj, 'Id', true);
    if (!BATCH_ID.test(id)) throw sqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw sqsErrors.idsNotDistinct(id);
    seen.add(id);
    return e as Obj;
  });
}
