import type { AwsError } from '../aws-error';

/*
 * The SQS Query protocol (form-encoded `Action=…`, XML answers), API version 2012-11-05. Older
 * SDKs and CLIs (botocore before SQS moved to JSON in late 2023, e.g. Debian bookworm's awscli
 * 2.9.19) speak it. Requests become the JSON 1.0 input shapes; outputs are rendered back to XML.
 */

type Obj = Record<string, unknown>;
type Tree = { [k: string]: Tree | string };

const XMLNS = 'http://queue.amazonaws.com/doc/2012-11-05/';

function tree(params: URLSearchParams): Tree {
  const root: Tree = {};
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node = root;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) node[p] = value;
      else {
        if (typeof node[p] !== 'object') node[p] = {};
        node = node[p];
      }
    });
  }
  return root;
}

function items(node: Tree | string | undefined): Array<Tree | string> {
  if (!node || typeof node === 'string') return [];
  return Object.keys(node)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => node[k]!);
}

const LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
};

function convert(node: Tree): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries(node)) {
    if (LISTS[key]) out[LISTS[key]] = items(value);
    else if (key === 'Attribute') {
      out.Attributes = Object.fromEntries(items(value).map((a) => [(a as Tree).Name, (a as Tree).Value]));
    } else if (key === 'MessageAttribute') {
      out.MessageAttributes = Object.fromEntries(items(value).map((a) => [(a as Tree).Name, (a as Tree).Value]));
    } else if (key.endsWith('RequestEntry')) {
      out.Entries = items(value).map((e) => (typeof e === 'string' ? e : convert(e)));
    } else if (typeof value === 'string') out[key] = value;
    else out[key] = convert(value);
  }
  return out;
}

/** Parses a Query request body into `{ operation, input }`. */
export function parseQueryRequest(body: string): { operation: string; input: Obj } {
  const params = new URLSearchParams(body);
  const input = convert(tree(params));
  const action = input.Action;
  // Action and Version address the call; they are not members of the operation's input.
  delete input.Action;
  delete input.Version;
  return { operation: typeof action === 'string' ? action : '', input };
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\r/g, '&#xD;');
}

const el = (name: string, value: unknown) =>
  value === undefined || value === null
    ? ''
    : `<${name}>${xmlEscape(typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? value.toString() : JSON.stringify(value))}</${name}>`;

function nameValues(tag: string, map: unknown): string {
  return Object.entries((map as Record<string, string>) ?? {})
    .map(([k, v]) => `<${tag}>${el('Name', k)}${el('Value', v)}</${tag}>`)
    .join('');
}

function messageAttributes(map: unknown): string {
  return Object.entries((map as Record<string, Obj>) ?? {})
    .map(
      ([k, v]) =>
        `<MessageAttribute>${el('Name', k)}<Value>${el('StringValue', v.StringValue)}${el('BinaryValue', v.BinaryValue)}${el('DataType', v.DataType)}</Value></MessageAttribute>`,
    )
    .join('');
}

function entries(op: string, out: Obj): string {
  const ok = ((out.Successful as Obj[]) ?? [])
    .map(
      (e) =>
        `<${op}ResultEntry>${el('Id', e.Id)}${el('MessageId', e.MessageId)}${el('MD5OfMessageBody', e.MD5OfMessageBody)}${el('MD5OfMessageAttributes', e.MD5OfMessageAttributes)}</${op}ResultEntry>`,
    )
    .join('');
  const failed = ((out.Failed as Obj[]) ?? [])
    .map(
      (e) =>
        `<BatchResultErrorEntry>${el('Id', e.Id)}${el('SenderFault', e.SenderFault)}${el('Code', e.Code)}${el('Message', e.Message)}</BatchResultErrorEntry>`,
    )
    .join('');
  return ok + failed;
}

function resultBody(op: string, out: Obj): string {
  switch (op) {
    case 'CreateQueue':
    case 'GetQueueUrl':
      return el('QueueUrl', out.QueueUrl);
    case 'ListQueues':
      return ((out.QueueUrls as string[]) ?? []).map((u) => el('QueueUrl', u)).join('') + el('NextToken', out.NextToken);
    case 'ListDeadLetterSourceQueues':
      return ((out.queueUrls as string[]) ?? []).map((u) => el('QueueUrl', u)).join('');
    case 'GetQueueAttributes':
      return nameValues('Attribute', out.Attributes);
    case 'SendMessage':
      return (
        el('MD5OfMessageBody', out.MD5OfMessageBody) +
        el('MD5OfMessageAttributes', out.MD5OfMessageAttributes) +
        el('MessageId', out.MessageId)
      );
    case 'ReceiveMessage':
      return ((out.Messages as Obj[]) ?? [])
        .map(
          (m) =>
            `<Message>${el('MessageId', m.MessageId)}${el('ReceiptHandle', m.ReceiptHandle)}${el('MD5OfBody', m.MD5OfBody)}${el('Body', m.Body)}${nameValues('Attribute', m.Attributes)}${el('MD5OfMessageAttributes', m.MD5OfMessageAttributes)}${messageAttributes(m.MessageAttributes)}</Message>`,
        )
        .join('');
    case 'SendMessageBatch':
    case 'DeleteMessageBatch':
    case 'ChangeMessageVisibilityBatch':
      return entries(op, out);
    default:
      return '';
  }
}

/** Renders a successful Query response. */
export function queryResponse(op: string, out: Obj, requestId: string): string {
  const body = resultBody(op, out);
  const result =
    body ||
    [
      'CreateQueue',
      'GetQueueUrl',
      'ListQueues',
      'GetQueueAttributes',
      'SendMessage',
      'ReceiveMessage',
      'SendMessageBatch',
      'DeleteMessageBatch',
      'ChangeMessageVisibilityBatch',
      'ListDeadLetterSourceQueues',
    ].includes(op)
      ? `<${op}Result>${body}</${op}Result>`
      : '';
  return `<?xml version="1.0"?><${op}Response xmlns="${XMLNS}">${result}<ResponseMetadata>${el('RequestId', requestId)}</ResponseMetadata></${op}Response>`;
}

/** Renders a Query error (`<ErrorResponse>` with the legacy query code). */
export function queryError(err: AwsError, requestId: string): string {
  return `<?xml version="1.0"?><ErrorResponse xmlns="${XMLNS}"><Error>${el('Type', err.faultType)}${el('Code', err.queryCode ?? err.code)}${el('Message', err.message)}<Detail/></Error>${el('RequestId', requestId)}</ErrorResponse>`;
}
