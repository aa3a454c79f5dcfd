import { parseQueueMessage } from '../../src/events/envelope';
import type { MarketplaceEvent, ParseResult } from '../../src/events/marketplace-event';
import { fixtureJson, fixtureText } from './fixture-loader';

const meta = { messageId: 'sqs-1' };
const LIC = 'arn:aws:license-manager::294406891311:license:l-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const AGMT = 'agmt-1a2b3c4d5e6f7g8h9i0jklmno';

function ok(r: ParseResult): MarketplaceEvent {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.event;
}
const reasonOf = (r: ParseResult): string => (r.ok ? `ok ${r.event.kind}` : r.reason);
const withChanges = (file: string, change: (e: Record<string, unknown>) => void): string => {
  const e = fixtureJson(file);
  change(e);
  return JSON.stringify(e);
};

describe('EventBridge events (facts §5.4)', () => {
  it.each([
    ['eb-agreement-created-proposer.json', 'agreement-created'],
    ['eb-agreement-created-manufacturer.json', 'agreement-created'],
    ['eb-agreement-amended-proposer.json', 'agreement-amended'],
    ['eb-agreement-ended-proposer.json', 'agreement-ended'],
    ['eb-license-updated-manufacturer.json', 'license-updated'],
    ['eb-license-deprovisioned-manufacturer.json', 'license-deprovisioned'],
  ])('%s → %s', (file, kind) => {
    const raw = fixtureJson(file);
    const e = ok(parseQueueMessage(fixtureText(file), meta));
    expect(e).toMatchObject({
      kind,
      channel: 'eventbridge',
      dedupeKey: raw['id'],
      agreementId: AGMT,
      customerAWSAccountId: '444455556666',
    });
    expect(e.eventTime).toEqual(new Date(raw['time'] as string));
    expect(e.detailType).toBe(raw['detail-type']);
    expect(e.payload).toEqual(raw);
  });

  it('license events carry product code, LicenseArn and offer id', () => {
    const e = ok(parseQueueMessage(fixtureText('eb-license-updated-manufacturer.json'), meta));
    expect(e).toMatchObject({ productCode: '7m2x9kq4v1d8b0c3n6p5r2t4w', licenseArn: LIC, offerIdentifier: 'offer-3jx2lmdabcdef' });
  });

  it('agreement events carry no product and no license, but status and intent', () => {
    const created = ok(parseQueueMessage(fixtureText('eb-agreement-created-proposer.json'), meta));
    expect(created).toMatchObject({ agreementStatus: 'ACTIVE', agreementIntent: 'NEW' });
    expect(created.productCode).toBeUndefined();
    expect(created.licenseArn).toBeUndefined();
    expect(ok(parseQueueMessage(fixtureText('eb-agreement-ended-proposer.json'), meta)).agreementStatus).toBe('CANCELLED');
  });

  it('Manufacturer and Proposer copies of one event share the secondary dedupe key, not the primary one', () => {
    const p = ok(parseQueueMessage(fixtureText('eb-agreement-created-proposer.json'), meta));
    const m = ok(parseQueueMessage(fixtureText('eb-agreement-created-manufacturer.json'), meta));
    expect(p.dedupeKey).not.toBe(m.dedupeKey);
    expect(p.secondaryDedupeKey).toBe(m.secondaryDedupeKey);
    expect(p.secondaryDedupeKey).toBe('eb:Purchase Agreement Created:b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e');
  });

  it('falls back to agreement id and time for the secondary key when requestId is missing', () => {
    const body = withChanges('eb-agreement-ended-proposer.json', (e) => delete (e['detail'] as Record<string, unknown>)['requestId']);
    expect(ok(parseQueueMessage(body, meta)).secondaryDedupeKey).toBe(`eb:Purchase Agreement Ended:${AGMT}:2026-03-25T16:00:05.000Z`);
  });

  it('accepts License Updated - Proposer (matched by the AWS ESC sample)', () => {
    const body = withChanges('eb-license-updated-manufacturer.json', (e) => (e['detail-type'] = 'License Updated - Proposer'));
    expect(ok(parseQueueMessage(body, meta)).kind).toBe('license-updated');
  });

  it.each<[string, string, (e: Record<string, unknown>) => void, RegExp]>([
    ['Acceptor events', 'eb-agreement-ending-acceptor.json', () => undefined, /Acceptor.*not for sellers/],
    [
      'another source',
      'eb-license-updated-manufacturer.json',
      (e) => (e['source'] = 'aws.marketplace'),
      /is not aws\.agreement-marketplace/,
    ],
    [
      'an unknown detail-type',
      'eb-license-updated-manufacturer.json',
      (e) => (e['detail-type'] = 'Purchase Agreement Ending - Proposer'),
      /unsupported EventBridge detail-type/,
    ],
    [
      'a detail-type without role',
      'eb-license-updated-manufacturer.json',
      (e) => (e['detail-type'] = 'License Updated'),
      /unknown EventBridge detail-type/,
    ],
    ['a bad time', 'eb-license-updated-manufacturer.json', (e) => (e['time'] = 'soon'), /no valid "time"/],
    ['no detail', 'eb-license-updated-manufacturer.json', (e) => delete e['detail'], /no "detail" object/],
    [
      'a license event without LicenseArn',
      'eb-license-updated-manufacturer.json',
      (e) => delete (e['detail'] as Record<string, unknown>)['license'],
      /lacks detail\.acceptor\.accountId or detail\.license\.arn/,
    ],
    [
      'a license event without acceptor',
      'eb-license-deprovisioned-manufacturer.json',
      (e) => delete (e['detail'] as Record<string, unknown>)['acceptor'],
      /lacks detail\.acceptor/,
    ],
    [
      'an agreement event without agreement id',
      'eb-agreement-ended-proposer.json',
      (e) => delete (e['detail'] as Record<string, unknown>)['agreement'],
      /lacks detail\.agreement\.id/,
    ],
  ])('refuses %s, with the event id as dedupe key', (_n, file, change, reason) => {
    const r = parseQueueMessage(withChanges(file, change), meta);
    expect(reasonOf(r)).toMatch(reason);
    expect(!r.ok && r.dedupeKey).toBe(fixtureJson(file)['id']);
  });
});
