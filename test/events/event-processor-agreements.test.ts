import type { ManualClock } from '../../src/platform/clock';
import { describeDialects, type TestStore } from '../support/stores';
import {
  openProcessorFixture,
  contract,
  ebBody,
  entitlementUpdatedBody,
  type FakeReader,
  seats,
  until,
  type ProcessorRig,
} from './processor-support';

const ACCOUNT = '444455556666';
const L1 = `arn:aws:license-manager::${ACCOUNT}:license:l-0001`;
const L2 = `arn:aws:license-manager::${ACCOUNT}:license:l-0002`;
const t0 = Date.parse('2026-11-22T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

const licenseUpdated = (
  id: string,
  minute: number,
  o: { licenseArn?: string; agreementId: string; offerId?: string; requestId?: string },
) =>
  ebBody(id, 'License Updated - Manufacturer', at(minute), {
    requestId: o.requestId ?? `req-${id}`,
    product: { id: 'prod-1', code: contract.code },
    license: { arn: o.licenseArn ?? L1 },
    acceptor: { accountId: ACCOUNT },
    agreement: { id: o.agreementId },
    offer: { id: o.offerId ?? 'offer-1' },
  });
const agreementEvent = (
  id: string,
  stem: 'Created' | 'Amended' | 'Ended',
  minute: number,
  agreement: Record<string, unknown>,
  offerId?: string,
) =>
  ebBody(id, `Purchase Agreement ${stem} - Proposer`, at(minute), {
    requestId: `req-${id}`,
    acceptor: { accountId: ACCOUNT },
    agreement,
    ...(offerId ? { offer: { id: offerId } } : {}),
  });

describeDialects('event processor (licence, agreements, snapshots) on %s', (dialect) => {
  let t: TestStore;
  let reader: FakeReader;
  let rig: ProcessorRig;
  let clock: ManualClock;

  beforeEach(async () => {
    ({ t, reader, clock, rig } = await openProcessorFixture(dialect));
  });
  afterEach(async () => t.dispose());

  const byAgreementOrLicence = async (licenseArn: string) => rig.customers.findByIdentity({ licenseArn });
  const outcomeOf = async (dedupeKey: string) =>
    (await t.store.db.selectFrom('events').select(['outcome', 'reason']).where('dedupe_key', '=', dedupeKey).executeTakeFirst())?.outcome;

  it('a newer License Updated with a new LicenseArn on the same agreement replaces the licence; an older one does not', async () => {
    expect((await rig.deliver(licenseUpdated('lu1', 0, { agreementId: 'agmt-1', licenseArn: L1 }))).outcome).toBe('applied');
    expect((await rig.deliver(licenseUpdated('lu2', 10, { agreementId: 'agmt-1', licenseArn: L2 }))).outcome).toBe('applied');
    const c = await byAgreementOrLicence(L2);
    expect(c?.licenseArn).toBe(L2);
    expect(c?.subscription.licenseArn).toBe(L2);
    // A late copy of an older grant with the old licence: recorded, not applied.
    expect((await rig.deliver(licenseUpdated('lu0', 5, { agreementId: 'agmt-1', licenseArn: L1 }))).outcome).toBe('stale');
    expect((await rig.customers.findById(c!.id))?.licenseArn).toBe(L2);
    expect(await t.store.db.selectFrom('customers').select('id').execute()).toHaveLength(1);
  });

  it('the newest licence wins whatever the delivery order', async () => {
    await rig.deliver(licenseUpdated('lu2', 10, { agreementId: 'agmt-1', licenseArn: L2 }));
    // Applied only for what it still contributes (the earlier activation time), not for its licence.
    await rig.deliver(licenseUpdated('lu1', 0, { agreementId: 'agmt-1', licenseArn: L1 }));
    const rows = await t.store.db.selectFrom('customers').select(['license_arn']).execute();
    expect(rows).toEqual([{ license_arn: L2 }]);
    expect((await byAgreementOrLicence(L2))?.subscription.activatedAt).toEqual(at(0));
  });

  it('Created/Amended before their customer are applied with their data once it is known; a replacement agreement is followed', async () => {
    expect(
      (await rig.deliver(agreementEvent('c1', 'Created', 0, { id: 'agmt-1', status: 'ACTIVE', intent: 'NEW' }, 'offer-1'))).outcome,
    ).toBe('unmatched');
    await rig.deliver(licenseUpdated('lu1', 1, { agreementId: 'agmt-1', offerId: 'offer-1' }));
    let c = await byAgreementOrLicence(L1);
    expect(c).toMatchObject({ agreementId: 'agmt-1', offerId: 'offer-1', agreementStatus: 'ACTIVE', agreementIntent: 'NEW' });
    expect(await outcomeOf('c1')).toBe('applied');

    // The agreement is replaced: the new agreement's events arrive before anything links it to the customer.
    expect(
      (await rig.deliver(agreementEvent('a2', 'Amended', 20, { id: 'agmt-2', status: 'ACTIVE', intent: 'REPLACE' }, 'offer-2'))).outcome,
    ).toBe('unmatched');
    expect((await rig.deliver(agreementEvent('e2', 'Ended', 40, { id: 'agmt-2', status: 'CANCELLED' }))).outcome).toBe('unmatched');
    await rig.deliver(licenseUpdated('lu2', 21, { agreementId: 'agmt-2', offerId: 'offer-2' }));
    c = await byAgreementOrLicence(L1);
    expect(c).toMatchObject({ agreementId: 'agmt-2', offerId: 'offer-2', agreementStatus: 'CANCELLED', agreementIntent: 'REPLACE' });
    expect(c?.subscription.status).toBe('unsubscribe_pending');
    expect(await outcomeOf('a2')).toBe('applied');
    expect(await outcomeOf('e2')).toBe('applied');

    // A late copy of the first agreement's creation is recorded, not applied.
    expect(
      (await rig.deliver(agreementEvent('c1-late', 'Created', 2, { id: 'agmt-1', status: 'ACTIVE', intent: 'NEW' }, 'offer-1'))).outcome,
    ).toBe('stale');
    expect(await byAgreementOrLicence(L1)).toMatchObject({ agreementId: 'agmt-2', offerId: 'offer-2' });
  });

  it('an Amended event for the current agreement updates its offer, status and intent; an older one does not', async () => {
    await rig.deliver(licenseUpdated('lu1', 0, { agreementId: 'agmt-1', offerId: 'offer-1' }));
    expect(
      (await rig.deliver(agreementEvent('am', 'Amended', 10, { id: 'agmt-1', status: 'ACTIVE', intent: 'REPLACE' }, 'offer-9'))).outcome,
    ).toBe('applied');
    expect(await byAgreementOrLicence(L1)).toMatchObject({ offerId: 'offer-9', agreementStatus: 'ACTIVE', agreementIntent: 'REPLACE' });
    expect(
      (await rig.deliver(agreementEvent('cr', 'Created', 5, { id: 'agmt-1', status: 'ACTIVE', intent: 'NEW' }, 'offer-1'))).outcome,
    ).toBe('stale');
    expect(await byAgreementOrLicence(L1)).toMatchObject({ offerId: 'offer-9', agreementIntent: 'REPLACE' });
  });

  it('License Updated for a contract whose GetEntitlements answer is empty opens the final-metering window', async () => {
    reader.answer = [];
    expect((await rig.deliver(licenseUpdated('lu1', 0, { agreementId: 'agmt-1' }))).outcome).toBe('applied');
    const c = await byAgreementOrLicence(L1);
    expect(c?.subscription).toMatchObject({ status: 'unsubscribe_pending', activatedAt: at(0), finalWindowOpenedAt: at(0) });
    expect(rig.published.map((e) => e.type)).toContain('final-window-opened');
  });

  it('an older GetEntitlements answer never replaces a newer snapshot, and an unchanged one publishes nothing', async () => {
    await rig.deliver(licenseUpdated('lu1', 0, { agreementId: 'agmt-1' }));
    const who = { account: ACCOUNT, licenseArn: L1 };
    reader.holdNext = 1;
    const slow = rig.deliver(entitlementUpdatedBody('u1', at(1), who), 'u1');
    await until(() => reader.pending === 1);
    clock.advance(1000);
    reader.answer = [seats(9)];
    await rig.deliver(entitlementUpdatedBody('u2', at(2), who), 'u2');
    reader.release([seats(5)]); // read before u2's, answered after it
    await slow;
    const c = await byAgreementOrLicence(L1);
    expect(await rig.customers.listEntitlements(c!.id)).toEqual([seats(9)]);

    const before = rig.published.filter((e) => e.type === 'entitlements-changed').length;
    clock.advance(1000);
    await rig.deliver(entitlementUpdatedBody('u3', at(3), who), 'u3');
    expect(rig.published.filter((e) => e.type === 'entitlements-changed').length).toBe(before);
  });

  it('the Manufacturer and Proposer copies of one event delivered at once are applied once', async () => {
    reader.holdNext = 2;
    const a = rig.deliver(licenseUpdated('copy-m', 0, { agreementId: 'agmt-1', requestId: 'same-request' }), 'copy-m');
    const b = rig.deliver(licenseUpdated('copy-p', 0, { agreementId: 'agmt-1', requestId: 'same-request' }), 'copy-p');
    await until(() => reader.pending === 2);
    reader.release([seats(10)]);
    reader.release([seats(10)]);
    const outcomes = (await Promise.all([a, b])).map((r) => r.outcome).sort();
    expect(outcomes).toEqual(['applied', 'duplicate']);
    const rows = await t.store.db
      .selectFrom('events')
      .select('dedupe_key')
      .where('secondary_key', '=', 'eb:License Updated:same-request')
      .execute();
    expect(rows).toHaveLength(1);
  });
});
