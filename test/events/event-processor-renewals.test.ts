import { CustomerProfileRepository } from '../../src/customers/customer-profile.repository';
import { describeDialects, type TestStore } from '../support/stores';
import { contract, ebBody, openProcessorFixture, type ProcessorRig } from './processor-support';

const ACCOUNT = '444455556666';
const L1 = `arn:aws:license-manager::${ACCOUNT}:license:l-0001`;
const L2 = `arn:aws:license-manager::${ACCOUNT}:license:l-0002`;
const t0 = Date.parse('2026-11-22T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

const licenseUpdated = (id: string, minute: number, licenseArn: string, agreementId: string, account = ACCOUNT) =>
  ebBody(id, 'License Updated - Manufacturer', at(minute), {
    requestId: `req-${id}`,
    product: { id: 'prod-1', code: contract.code },
    license: { arn: licenseArn },
    acceptor: { accountId: account },
    agreement: { id: agreementId },
    offer: { id: 'offer-1' },
  });
/** A renewal's Purchase Agreement Created (Seller Guide: intent RENEW, `previousAgreementId`, `product { id, title }`). */
const created = (id: string, minute: number, agreementId: string, previousAgreementId: unknown, intent = 'RENEW', account = ACCOUNT) =>
  ebBody(id, 'Purchase Agreement Created - Proposer', at(minute), {
    requestId: `req-${id}`,
    acceptor: { accountId: account },
    offer: { id: 'offer-1' },
    agreement: { id: agreementId, intent, status: 'ACTIVE', previousAgreementId },
    product: { id: 'prod-1', title: 'Contract' },
  });
const endedAs = (id: string, minute: number, agreementId: string, status: string) =>
  ebBody(id, 'Purchase Agreement Ended - Proposer', at(minute), {
    requestId: `req-${id}`,
    acceptor: { accountId: ACCOUNT },
    agreement: { id: agreementId, status },
  });

describeDialects('event processor: renewals and replacements on %s', (dialect) => {
  let t: TestStore;
  let rig: ProcessorRig;
  let profiles: CustomerProfileRepository;

  beforeEach(async () => {
    ({ t, rig } = await openProcessorFixture(dialect));
    profiles = new CustomerProfileRepository(t.store.db);
  });
  afterEach(async () => t.dispose());

  const byLicence = async (licenseArn: string) => (await rig.customers.findByIdentity({ licenseArn }))!;

  async function tenantOnFirstAgreement(): Promise<string> {
    expect((await rig.deliver(licenseUpdated('lu1', 0, L1, 'agmt-1'))).outcome).toBe('applied');
    const first = await byLicence(L1);
    await profiles.setExternalId(first.id, 'tenant-1', at(1));
    return first.id;
  }

  it('a renewal learnt before any event of the agreement it renews is linked once that customer is known', async () => {
    // The new agreement's licence and Created first: the previous agreement's customer does not exist yet.
    expect((await rig.deliver(licenseUpdated('lu2', 11, L2, 'agmt-2'))).outcome).toBe('applied');
    expect((await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1'))).outcome).toBe('applied');
    expect(await byLicence(L2)).toMatchObject({ previousCustomerId: null });
    // Then the previous agreement's licence: its customer appears, and the renewal is linked to it.
    expect((await rig.deliver(licenseUpdated('lu1', 0, L1, 'agmt-1'))).outcome).toBe('applied');
    const first = await byLicence(L1);
    expect(await byLicence(L2)).toMatchObject({ previousCustomerId: first.id });
    // Nothing links twice, and the previous customer is not linked to itself.
    expect((await rig.deliver(licenseUpdated('lu1b', 1, L1, 'agmt-1'))).outcome).toBe('applied');
    expect(await byLicence(L2)).toMatchObject({ previousCustomerId: first.id });
    expect((await rig.customers.findById(first.id))!.previousCustomerId).toBeNull();
  });

  it('a renewal learnt first is not linked to a customer of another account', async () => {
    expect((await rig.deliver(licenseUpdated('lu2', 11, L2, 'agmt-2'))).outcome).toBe('applied');
    expect((await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1'))).outcome).toBe('applied');
    const other = `arn:aws:license-manager::111122223333:license:l-0009`;
    expect((await rig.deliver(licenseUpdated('lu1', 0, other, 'agmt-1', '111122223333'))).outcome).toBe('applied');
    expect(await byLicence(L2)).toMatchObject({ previousCustomerId: null });
  });

  it.each(['RENEW', 'REPLACE'])(
    '%s: the new customer links to the previous one and takes its externalId (moved, not copied)',
    async (intent) => {
      const firstId = await tenantOnFirstAgreement();
      // AWS order (docs/simulator.md): Created for the new agreement, Ended (RENEWED) for the old, then the new licence.
      expect((await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1', intent))).outcome).toBe('unmatched');
      expect((await rig.deliver(endedAs('e1', 10, 'agmt-1', intent === 'RENEW' ? 'RENEWED' : 'REPLACED'))).outcome).toBe('ignored');
      expect((await rig.deliver(licenseUpdated('lu2', 11, L2, 'agmt-2'))).outcome).toBe('applied');
      const second = await byLicence(L2);
      expect(second.id).not.toBe(firstId);
      expect(second).toMatchObject({ previousCustomerId: firstId, externalId: 'tenant-1', licenseArn: L2, agreementId: 'agmt-2' });
      const first = (await rig.customers.findById(firstId))!;
      expect(first).toMatchObject({ externalId: null, previousCustomerId: null, licenseArn: L1 });
      // The app finds its tenant on the live customer only.
      expect((await rig.customers.findByReference('tenant-1')).map((c) => c.id)).toEqual([second.id]);
      // The change feed tells the app both moves.
      const changes = await t.store.db
        .selectFrom('customer_changes')
        .select(['customer_id', 'change'])
        .where('change', '=', 'external_id_changed')
        .execute();
      expect(changes.map((c) => c.customer_id).sort()).toEqual([firstId, firstId, second.id].sort());
    },
  );

  it('the new licence first, the Created event after: the same link; a redelivered Created changes nothing', async () => {
    const firstId = await tenantOnFirstAgreement();
    await rig.deliver(licenseUpdated('lu2', 11, L2, 'agmt-2'));
    expect((await byLicence(L2)).previousCustomerId).toBeNull();
    await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1'));
    const second = await byLicence(L2);
    expect(second).toMatchObject({ previousCustomerId: firstId, externalId: 'tenant-1' });
    const version = second.version;
    expect((await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1'))).outcome).toBe('duplicate');
    expect((await rig.deliver(created('c2-copy', 10, 'agmt-2', 'agmt-1'))).outcome).not.toBe('rejected');
    expect((await byLicence(L2)).version).toBe(version);
  });

  it('an app that already linked a tenant to the new customer keeps it; the previous one keeps its own', async () => {
    const firstId = await tenantOnFirstAgreement();
    await rig.deliver(licenseUpdated('lu2', 11, L2, 'agmt-2'));
    await profiles.setExternalId((await byLicence(L2)).id, 'tenant-2', at(12));
    await rig.deliver(created('c2', 10, 'agmt-2', 'agmt-1'));
    expect(await byLicence(L2)).toMatchObject({ previousCustomerId: firstId, externalId: 'tenant-2' });
    expect((await rig.customers.findById(firstId))?.externalId).toBe('tenant-1');
  });

  it('links nothing for garbage or for another buyer account', async () => {
    await tenantOnFirstAgreement();
    const OTHER = '999988887777';
    const L3 = `arn:aws:license-manager::${OTHER}:license:l-0003`;
    await rig.deliver(created('c3', 10, 'agmt-3', 'agmt-1', 'REPLACE', OTHER));
    await rig.deliver(licenseUpdated('lu3', 11, L3, 'agmt-3', OTHER));
    expect(await byLicence(L3)).toMatchObject({ previousCustomerId: null, externalId: null });
    for (const [i, bad] of [['x y'], [42], ['agmt-2'], [{ id: 'agmt-1' }]].entries()) {
      const L = `arn:aws:license-manager::${ACCOUNT}:license:l-01${i}`;
      await rig.deliver(licenseUpdated(`lux${i}`, 20 + i, L, `agmt-x${i}`));
      const r = await rig.deliver(created(`cx${i}`, 20 + i, `agmt-x${i}`, bad[0]));
      expect(r.outcome).not.toBe('rejected');
      expect((await byLicence(L)).previousCustomerId).toBeNull();
    }
  });
});
