import { parseQueueMessage, parseSnsHttpBody } from '../../src/events/envelope';
import type { MarketplaceEvent, ParseResult } from '../../src/events/marketplace-event';
import { toStatusTransition } from '../../src/events/status-transition';
import { fixtureJson, fixtureText } from './fixture-loader';

const PC = '7m2x9kq4v1d8b0c3n6p5r2t4w';
const meta = { messageId: 'sqs-msg-1', sentTimestamp: new Date('2026-03-20T08:00:01.000Z') };

function ok(r: ParseResult): MarketplaceEvent {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.event;
}
function fail(r: ParseResult): { reason: string; dedupeKey?: string } {
  if (r.ok) throw new Error(`expected a rejection, got ${r.event.kind}`);
  return r;
}

describe('parseQueueMessage: SNS envelope in SQS (facts §4.1, §5.2)', () => {
  it.each([
    ['sns-sqs-subscribe-success.json', 'subscribe-success', 'X01EXAMPLEX'],
    ['sns-sqs-subscribe-fail.json', 'subscribe-fail', 'X02EXAMPLEX'],
    ['sns-sqs-unsubscribe-pending.json', 'unsubscribe-pending', 'X01EXAMPLEX'],
    ['sns-sqs-unsubscribe-success.json', 'unsubscribe-success', 'X01EXAMPLEX'],
    ['sns-sqs-entitlement-updated.json', 'entitlement-updated', 'X03EXAMPLEX'],
  ])('%s → %s', (file, kind, customer) => {
    const envelope = fixtureJson(file);
    const e = ok(parseQueueMessage(fixtureText(file), meta));
    expect(e).toMatchObject({ kind, customerIdentifier: customer, productCode: PC, channel: 'sns-sqs' });
    expect(e.dedupeKey).toBe(envelope['MessageId']);
    expect(e.eventTime).toEqual(new Date(envelope['Timestamp'] as string));
    expect(e.topicArn).toBe(envelope['TopicArn']);
    expect(e.payload).toEqual(JSON.parse(envelope['Message'] as string));
  });

  it('reads offer-identifier and the string free-trial flag', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-sqs-subscribe-success.json'), meta));
    expect(e).toMatchObject({ offerIdentifier: 'offer-abcexample123', freeTrial: true });
    expect(ok(parseQueueMessage(fixtureText('sns-sqs-subscribe-fail.json'), meta)).freeTrial).toBe(false);
  });

  it('offer-identifier and isFreeTrialTermPresent are optional', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-sqs-entitlement-updated.json'), meta));
    expect(e.offerIdentifier).toBeUndefined();
    expect(e.freeTrial).toBeUndefined();
  });

  it('falls back to PascalCase keys, a boolean free-trial flag, and trims identifiers', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-sqs-pascalcase.json'), meta));
    expect(e).toMatchObject({
      kind: 'subscribe-success',
      customerIdentifier: 'X04EXAMPLEX',
      productCode: PC,
      offerIdentifier: 'offer-private777',
      freeTrial: false,
    });
  });

  it('kebab-case wins over PascalCase when both are present', () => {
    const body = snsBody({ action: 'subscribe-success', 'customer-identifier': 'KEBAB', CustomerIdentifier: 'PASCAL', 'product-code': PC });
    expect(ok(parseQueueMessage(body, meta)).customerIdentifier).toBe('KEBAB');
  });

  it('accepts the seed variant "CustomerId" and optional account id / LicenseArn keys', () => {
    const body = snsBody({
      action: 'subscribe-success',
      CustomerId: 'SEEDID',
      ProductCode: PC,
      'customer-aws-account-id': '444455556666',
      LicenseArn: 'arn:l',
    });
    expect(ok(parseQueueMessage(body, meta))).toMatchObject({
      customerIdentifier: 'SEEDID',
      customerAWSAccountId: '444455556666',
      licenseArn: 'arn:l',
    });
  });

  it('takes the product code from the topic ARN when the message has none', () => {
    const body = snsBody({ action: 'unsubscribe-success', 'customer-identifier': 'C1' });
    expect(ok(parseQueueMessage(body, meta)).productCode).toBe(PC);
  });

  it('accepts a Message that is already an object', () => {
    const envelope = fixtureJson('sns-sqs-subscribe-success.json');
    envelope['Message'] = JSON.parse(envelope['Message'] as string);
    expect(ok(parseQueueMessage(JSON.stringify(envelope), meta)).kind).toBe('subscribe-success');
  });

  it('parses an EventBridge event wrapped in an SNS envelope', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-sqs-eventbridge-license-updated.json'), meta));
    expect(e).toMatchObject({ kind: 'license-updated', channel: 'eventbridge', dedupeKey: '5a6b7c8d-9e0f-1a2b-3c4d-5e6f7a8b9c0d' });
    expect(e.topicArn).toMatch(/marketplace-events$/);
  });
});

describe('parseQueueMessage: raw delivery (facts §4.1)', () => {
  it('uses the SQS MessageId and SentTimestamp', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-raw-unsubscribe-pending.json'), meta));
    expect(e).toMatchObject({
      kind: 'unsubscribe-pending',
      channel: 'sns-raw',
      dedupeKey: 'sqs-msg-1',
      eventTime: meta.sentTimestamp,
      customerIdentifier: 'X05EXAMPLEX',
    });
    expect(e.topicArn).toBeUndefined();
  });

  it('refuses a raw message without a fallback time', () => {
    const r = fail(parseQueueMessage(fixtureText('sns-raw-unsubscribe-pending.json'), { messageId: 'm2' }));
    expect(r.reason).toMatch(/SentTimestamp/);
    expect(r.dedupeKey).toBe('m2');
  });
});

describe('parseQueueMessage: rejections carry a reason and never throw', () => {
  it.each([
    ['not JSON', 'hello world', /not JSON/],
    ['JSON array', '[1,2]', /not an object/],
    ['JSON null', 'null', /not an object/],
    ['empty object', '{}', /not an SNS envelope/],
    [
      'unknown action',
      snsBody({ action: 'subscribe-maybe', 'customer-identifier': 'C', 'product-code': PC }),
      /unknown Marketplace action/,
    ],
    ['no identity', snsBody({ action: 'subscribe-success', 'product-code': PC }), /no customer identity/],
    [
      'Message not JSON',
      JSON.stringify({ ...fixtureJson('sns-sqs-subscribe-success.json'), Message: 'Hello world!' }),
      /Message is not JSON/,
    ],
    ['no Timestamp', JSON.stringify({ ...fixtureJson('sns-sqs-subscribe-success.json'), Timestamp: 'yesterday' }), /Timestamp/],
    ['unknown SNS type', JSON.stringify({ Type: 'Gossip', MessageId: 'x' }), /unknown SNS message Type/],
    ['confirmation in a queue', fixtureText('sns-http-subscription-confirmation.json'), /out of band/],
  ])('%s', (_name, body, reason) => {
    expect(fail(parseQueueMessage(body, meta)).reason).toMatch(reason);
  });

  it('keeps the SNS MessageId as dedupe key on rejected notifications', () => {
    const body = snsBody({ action: 'nope', 'customer-identifier': 'C' });
    expect(fail(parseQueueMessage(body, meta)).dedupeKey).toBe('m-test');
  });
});

describe('parseSnsHttpBody (facts §4.2)', () => {
  it('parses a Notification with channel sns-http', () => {
    const r = parseSnsHttpBody(fixtureText('sns-sqs-unsubscribe-success.json'));
    expect(r.ok && 'event' in r && r.event).toMatchObject({ kind: 'unsubscribe-success', channel: 'sns-http' });
  });

  it('returns the control fields of a SubscriptionConfirmation', () => {
    const r = parseSnsHttpBody(fixtureText('sns-http-subscription-confirmation.json'));
    if (!r.ok || !('control' in r)) throw new Error('expected a control message');
    expect(r.control).toMatchObject({ type: 'SubscriptionConfirmation', messageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b' });
    expect(r.control.subscribeUrl).toMatch(/^https:\/\/sns\.us-east-1\.amazonaws\.com\/\?Action=ConfirmSubscription/);
    expect(r.control.token).toHaveLength(224);
  });

  it('returns an UnsubscribeConfirmation as control too', () => {
    const body = JSON.stringify({ ...fixtureJson('sns-http-subscription-confirmation.json'), Type: 'UnsubscribeConfirmation' });
    const r = parseSnsHttpBody(body);
    expect(r.ok && 'control' in r && r.control.type).toBe('UnsubscribeConfirmation');
  });

  it.each([
    ['garbage', '<xml/>', /not JSON/],
    ['no Type', '{"a":1}', /no SNS "Type"/],
    [
      'confirmation without Token',
      JSON.stringify({ ...fixtureJson('sns-http-subscription-confirmation.json'), Token: undefined }),
      /Token/,
    ],
  ])('refuses %s', (_n, body, reason) => {
    const r = parseSnsHttpBody(body);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe('toStatusTransition', () => {
  it('maps status-changing kinds and leaves the others to their handlers', () => {
    const e = ok(parseQueueMessage(fixtureText('sns-sqs-unsubscribe-pending.json'), meta));
    expect(toStatusTransition(e)).toEqual({ kind: 'unsubscribe-pending', eventTime: e.eventTime });
    expect(toStatusTransition(ok(parseQueueMessage(fixtureText('sns-sqs-entitlement-updated.json'), meta)))).toBeNull();
    const lu = ok(parseQueueMessage(fixtureText('eb-license-updated-manufacturer.json'), meta));
    expect(toStatusTransition(lu)).toMatchObject({ kind: 'license-updated', licenseArn: lu.licenseArn });
  });
});

function snsBody(message: Record<string, unknown>): string {
  return JSON.stringify({ ...fixtureJson('sns-sqs-subscribe-success.json'), MessageId: 'm-test', Message: JSON.stringify(message) });
}
