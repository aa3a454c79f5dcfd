import { createHash } from 'node:crypto';

/** A message attribute as stored (binary values as bytes). */
export interface StoredAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/**
 * MD5 of message attributes, the SQS algorithm: for each attribute in name order, the
 * length-prefixed (4-byte big-endian) UTF-8 name, the length-prefixed data type, one transport
 * byte (1 = String/Number, 2 = Binary), then the length-prefixed value.
 */
export function md5OfMessageAttributes(attributes: Record<string, StoredAttribute>): string | undefined {
  const names = Object.keys(attributes).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const a = attributes[name]!;
    parts.push(lengthPrefixed(Buffer.from(name, 'utf8')), lengthPrefixed(Buffer.from(a.DataType, 'utf8')));
    if (a.DataType.startsWith('Binary')) {
      parts.push(Buffer.from([2]), lengthPrefixed(a.BinaryValue ?? Buffer.alloc(0)));
    } else {
      parts.push(Buffer.from([1]), lengthPrefixed(Buffer.from(a.StringValue ?? '', 'utf8')));
    }
  }
  return md5Hex(Buffer.concat(parts));
}
