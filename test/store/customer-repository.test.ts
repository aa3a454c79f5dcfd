import { sql } from 'kysely';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { ManualClock } from '../../src/platform/clock';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

describeDialects('customer repository on %s', (dialect) => {
  let t: TestStore;
  let repo: CustomerRepository;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock('2026-11-22T10:00:00.000Z');
    t = await openTestStore(dialect);
    repo = new CustomerRepository(t.store.db);
  });
  afterEach(async () => t.dispose());

  it('migrations are applied and the store reports ready; migrating again applies nothing', async () => {
    expect(await t.store.isReady()).toBe(true);
    expect((await t.store.migrate()).applied).toEqual([]);
  });

  it('reports not ready while a migration is missing from its own bookkeeping table', async () => {
    const { rows } = await sql<{ name: string }>`select max(name) as name from kysely_migration`.execute(t.store.db);
    await sql`delete from kysely_migration where name = ${rows[0]!.name}`.execute(t.store.db);
    expect(await t.store.isReady()).toBe(false);
  });

  it('creates a legacy customer and finds it again by product and identifier', async () => {
    const created = await repo.upsert(
      { productCode: 'p1', customerIdentifier: 'cust-1', customerAWSAccountId: '111122223333' },
      clock.now(),
      { registered: true },
    );
    expect(created.subscription.status).toBe('pending');
    expect(created.registeredAt?.toISOString()).toBe('2026-11-22T10:00:00.000Z');
    const found = await repo.findByIdentity({ productCode: 'p1', customerIdentifier: 'cust-1' });
    expect(found?.id).toBe(created.id);
    expect(await repo.findByIdentity({ productCode: 'p2', customerIdentifier: 'cust-1' })).toBeUndefined();
  });

  it('the free-trial flag: a registration hint until a notification speaks, then the newest notification, both ways', async () => {
    const id = { productCode: 'p1', customerIdentifier: 'trial-1' };
    expect((await repo.upsert({ ...id, freeTrial: true }, clock.now(), { registered: true })).freeTrial).toBe(true);
    expect((await repo.upsert({ ...id, freeTrial: false }, clock.now(), { registered: true })).freeTrial).toBe(false); // registered again, no trial
    const t1 = new Date('2026-11-22T10:05:00Z');
    const t2 = new Date('2026-11-22T10:10:00Z');
    const c = await repo.upsert({ ...id, freeTrial: true, freeTrialAt: t2 }, clock.now());
    expect(c.freeTrial).toBe(true);
    await t.store.db
      .transaction()
      .execute((tx) =>
        repo.saveSubscriptionState(
          tx,
          c.id,
          { status: 'active', statusEventTime: t2, activatedAt: t2, finalWindowOpenedAt: null, endedAt: null },
          clock.now(),
        ),
      );
    // A buyer-posted form can no longer change what AWS said.
    expect((await repo.upsert({ ...id, freeTrial: false }, clock.now(), { registered: true })).freeTrial).toBe(true);
    // An older notification does not undo a newer one.
    expect((await repo.upsert({ ...id, freeTrial: false, freeTrialAt: t1 }, clock.now())).freeTrial).toBe(true);
    // A newer one does, either way.
    expect((await repo.upsert({ ...id, freeTrial: false, freeTrialAt: new Date('2026-11-22T11:00:00Z') }, clock.now())).freeTrial).toBe(
      false,
    );
    expect((await repo.findById(c.id))?.freeTrial).toBe(false);
  });

  it('merges a registration into a customer first created by an event, filling gaps only', async () => {
    const fromEvent = await repo.upsert(
      { productCode: 'p1', customerAWSAccountId: '444455556666', agreementId: 'agmt-1', offerId: 'offer-1' },
      clock.now(),
    );
    clock.advance(60_000);
    const merged = await repo.upsert(
      {
        productCode: 'p1',
        customerAWSAccountId: '444455556666',
        licenseArn: 'arn:aws:license-manager::444455556666:license:l-1',
        offerId: 'offer-OTHER',
      },
      clock.now(),
      { registered: true },
    );
    expect(merged.id).toBe(fromEvent.id);
    expect(merged.licenseArn).toBe('arn:aws:license-manager::444455556666:license:l-1');
    expect(merged.offerId).toBe('offer-1'); // never overwritten
    expect(merged.agreementId).toBe('agmt-1');
    expect(merged.registeredAt?.toISOString()).toBe('2026-11-22T10:01:00.000Z');
    expect(merged.version).toBe(2);
  });

  it('never erases subscription state written by events when the buyer registers again', async () => {
    const c = await repo.upsert({ productCode: 'p1', customerIdentifier: 'cust-2' }, clock.now());
    await t.store.db.transaction().execute((tx) =>
      repo.saveSubscriptionState(
        tx,
        c.id,
        {
          status: 'active',
          statusEventTime: clock.now(),
          activatedAt: clock.now(),
          finalWindowOpenedAt: null,
          endedAt: null,
          statusEventRank: 1,
        },
        clock.now(),
      ),
    );
    const again = await repo.upsert({ productCode: 'p1', customerIdentifier: 'cust-2' }, clock.now(), { registered: true });
    expect(again.subscription.status).toBe('active');
    expect(again.subscription.activatedAt?.toISOString()).toBe('2026-11-22T10:00:00.000Z');
  });

  it('two concurrent first registrations of one buyer make one customer', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => repo.upsert({ productCode: 'p1', customerIdentifier: 'race' }, clock.now(), { registered: true })),
    );
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const rows = await t.store.db.selectFrom('customers').select('id').where('customer_identifier', '=', 'race').execute();
    expect(rows).toHaveLength(1);
  });

  it('replaces the entitlement snapshot atomically and keeps typed values and expiry', async () => {
    const c = await repo.upsert({ productCode: 'p1', customerIdentifier: 'cust-3' }, clock.now());
    await repo.replaceEntitlements(
      c.id,
      [
        { dimension: 'seats', value: { type: 'integer', value: 25 }, expirationDate: new Date('2027-11-22T00:00:00.000Z') },
        { dimension: 'sso', value: { type: 'boolean', value: true }, expirationDate: null },
        { dimension: 'tier', value: { type: 'string', value: 'gold' }, expirationDate: null },
        { dimension: 'ratio', value: { type: 'double', value: 0.5 }, expirationDate: null },
      ],
      clock.now(),
    );
    await repo.replaceEntitlements(
      c.id,
      [{ dimension: 'seats', value: { type: 'integer', value: 30 }, expirationDate: null }],
      clock.now(),
    );
    const list = await repo.listEntitlements(c.id);
    expect(list).toEqual([{ dimension: 'seats', value: { type: 'integer', value: 30 }, expirationDate: null }]);
    const before = await repo.findById(c.id);
    expect(before?.entitlementsFetchedAt?.toISOString()).toBe('2026-11-22T10:00:00.000Z');
    await repo.replaceEntitlements(
      c.id,
      [
        { dimension: 'sso', value: { type: 'boolean', value: false }, expirationDate: null },
        { dimension: 'ratio', value: { type: 'double', value: 1.25 }, expirationDate: null },
      ],
      clock.now(),
    );
    expect(await repo.listEntitlements(c.id)).toEqual([
      { dimension: 'ratio', value: { type: 'double', value: 1.25 }, expirationDate: null },
      { dimension: 'sso', value: { type: 'boolean', value: false }, expirationDate: null },
    ]);
  });

  it('saves the sign-up form; a second submission updates it and keeps the first completion time', async () => {
    const c = await repo.upsert({ productCode: 'p1', customerIdentifier: 'cust-4' }, clock.now());
    await repo.saveOnboarding(c.id, { email: 'a@example.com', company: 'A', contactName: 'Ann' }, clock.now());
    clock.advance(3_600_000);
    const second = await repo.saveOnboarding(c.id, { email: 'b@example.com', company: 'B', contactName: 'Bob' }, clock.now());
    expect(second?.onboarding).toEqual({
      email: 'b@example.com',
      company: 'B',
      contactName: 'Bob',
      onboardedAt: new Date('2026-11-22T10:00:00.000Z'),
    });
  });

  it('finds a licence customer by licence, by agreement, and by account while it has no licence', async () => {
    const byAccount = await repo.upsert({ productCode: 'p9', customerAWSAccountId: '777788889999', agreementId: 'agmt-9' }, clock.now());
    expect((await repo.findByIdentity({ productCode: 'p9', customerAWSAccountId: '777788889999' }))?.id).toBe(byAccount.id);
    expect((await repo.findByIdentity({ agreementId: 'agmt-9' }))?.id).toBe(byAccount.id);
    await repo.upsert(
      { productCode: 'p9', agreementId: 'agmt-9', licenseArn: 'arn:aws:license-manager::777788889999:license:l-9' },
      clock.now(),
    );
    expect((await repo.findByIdentity({ licenseArn: 'arn:aws:license-manager::777788889999:license:l-9' }))?.id).toBe(byAccount.id);
  });

  it('resolves a batch of references of every form at once, as one reference at a time would', async () => {
    const legacyA = await repo.upsert({ productCode: 'p1', customerIdentifier: 'shared-ci' }, clock.now());
    const legacyB = await repo.upsert({ productCode: 'p2', customerIdentifier: 'shared-ci' }, clock.now());
    const licence = await repo.upsert(
      { productCode: 'p3', customerAWSAccountId: '111122223333', licenseArn: 'arn:aws:license-manager::111122223333:license:l-1' },
      clock.now(),
    );
    const tenant = await repo.upsert({ productCode: 'p1', customerIdentifier: 'ci-tenant' }, clock.now());
    await t.store.db.updateTable('customers').set({ external_id: 'tenant-7' }).where('id', '=', tenant.id).execute();
    // A tenant id that is also another customer's CustomerIdentifier: the AWS identity wins.
    await t.store.db.updateTable('customers').set({ external_id: 'shared-ci' }).where('id', '=', licence.id).execute();
    const refs = [
      legacyA.id,
      'shared-ci',
      'arn:aws:license-manager::111122223333:license:l-1',
      'arn:aws:license-manager::111122223333:license:l-unknown',
      'tenant-7',
      'nobody',
      '00000000-0000-4000-8000-000000000000',
      legacyA.id,
    ];
    const batch = await repo.findByReferences(refs);
    expect([...batch.keys()].sort()).toEqual([...new Set(refs)].sort());
    for (const ref of new Set(refs)) {
      const one = (await repo.findByReference(ref)).map((c) => c.id).sort();
      expect([
        ref,
        batch
          .get(ref)!
          .map((c) => c.id)
          .sort(),
      ]).toEqual([ref, one]);
    }
    expect(
      batch
        .get('shared-ci')!
        .map((c) => c.id)
        .sort(),
    ).toEqual([legacyA.id, legacyB.id].sort());
    expect(batch.get('tenant-7')!.map((c) => c.id)).toEqual([tenant.id]);
    expect(batch.get('nobody')).toEqual([]);
    expect(await repo.findByReferences([])).toEqual(new Map());
  });
});
