import { EntitlementReconciler } from '../../src/entitlements/entitlement-reconciler';
import { systemClock, type ManualClock } from '../../src/platform/clock';
import { LeaseRepository } from '../../src/store/lease.repository';
import { ProductCatalog } from '../../src/products/product-config';
import { captureLogger } from '../support/log-capture';
import { describeDialects, type TestStore } from '../support/stores';
import {
  openProcessorFixture,
  contract,
  ebBody,
  entitlementUpdatedBody,
  type FakeReader,
  legacy,
  seats,
  until,
  type ProcessorRig,
} from './processor-support';

const ACCOUNT = '555566667777';
const LICENSE = `arn:aws:license-manager::${ACCOUNT}:license:l-rec`;

describeDialects('entitlement reconciler on %s', (dialect) => {
  let t: TestStore;
  let reader: FakeReader;
  let rig: ProcessorRig;
  let clock: ManualClock;
  let reconciler: EntitlementReconciler;

  beforeEach(async () => {
    ({ t, reader, clock, rig } = await openProcessorFixture(dialect));
    reconciler = new EntitlementReconciler(
      {
        customers: rig.customers,
        reader,
        catalog: new ProductCatalog([legacy, contract]),
        bus: rig.bus,
        clock,
        logger: captureLogger().logger,
      },
      { intervalMs: 0, ratePerSecond: 1000 },
      async () => undefined,
    );
    await rig.deliver(
      ebBody('lu', 'License Updated - Manufacturer', new Date('2026-11-22T11:00:00Z'), {
        requestId: 'r-lu',
        product: { code: contract.code },
        license: { arn: LICENSE },
        acceptor: { accountId: ACCOUNT },
        agreement: { id: 'agmt-rec' },
      }),
      'lu',
    );
    rig.published.length = 0;
  });
  afterEach(async () => t.dispose());

  const customer = async () => (await rig.customers.findByIdentity({ licenseArn: LICENSE }))!;
  const changes = () => rig.published.filter((e) => e.type === 'entitlements-changed').length;

  it('publishes entitlements-changed only when the snapshot changed', async () => {
    clock.advance(1000);
    await reconciler.runOnce();
    expect(changes()).toBe(0);
    reader.answer = [seats(12)];
    clock.advance(1000);
    await reconciler.runOnce();
    expect(changes()).toBe(1);
    expect(await rig.customers.listEntitlements((await customer()).id)).toEqual([seats(12)]);
  });

  it('an empty contract opens the final-metering window', async () => {
    reader.answer = [];
    clock.advance(1000);
    await reconciler.runOnce();
    const c = await customer();
    expect(c.subscription.status).toBe('unsubscribe_pending');
    expect(c.subscription.finalWindowOpenedAt).toEqual(clock.now());
    expect(rig.published.map((e) => e.type)).toEqual(['entitlements-changed', 'final-window-opened']);
  });

  it('a slow reconciliation read never overwrites the newer snapshot an event stored meanwhile', async () => {
    clock.advance(1000);
    reader.holdNext = 1;
    const pass = reconciler.runOnce();
    await until(() => reader.pending === 1);
    clock.advance(1000);
    reader.answer = [seats(20)];
    await rig.deliver(entitlementUpdatedBody('u', new Date('2026-11-22T12:00:01Z'), { account: ACCOUNT, licenseArn: LICENSE }), 'u');
    reader.release([seats(3)]);
    await pass;
    expect(await rig.customers.listEntitlements((await customer()).id)).toEqual([seats(20)]);
  });

  const reconcilerWith = (opts: { pageSize?: number; leases?: LeaseRepository }) =>
    new EntitlementReconciler(
      {
        customers: rig.customers,
        reader,
        catalog: new ProductCatalog([legacy, contract]),
        bus: rig.bus,
        clock,
        logger: captureLogger().logger,
        leases: opts.leases,
      },
      { intervalMs: 0, ratePerSecond: 1000, ...(opts.pageSize ? { pageSize: opts.pageSize } : {}) },
      async () => undefined,
    );

  async function moreContractCustomers(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await rig.deliver(
        ebBody(`lu${i}`, 'License Updated - Manufacturer', new Date('2026-11-22T11:00:00Z'), {
          requestId: `r-lu${i}`,
          product: { code: contract.code },
          license: { arn: `arn:aws:license-manager::${ACCOUNT}:license:l-page${i}` },
          acceptor: { accountId: ACCOUNT },
          agreement: { id: `agmt-page${i}` },
        }),
        `lu${i}`,
      );
    }
  }

  it('reads the customers a page at a time and refreshes every one of them', async () => {
    await moreContractCustomers(4);
    clock.advance(1000);
    expect(await reconcilerWith({ pageSize: 2 }).runOnce()).toEqual({ refreshed: 5, failed: 0 });
    clock.advance(1000);
    expect(await reconcilerWith({ pageSize: 5 }).runOnce()).toEqual({ refreshed: 5, failed: 0 });
  });

  it('with several instances, one pass per interval: the other finds the lease held, and runs once the holder stops', async () => {
    const leases = new LeaseRepository(t.store.db, t.store.dialect, systemClock);
    const a = reconcilerWith({ leases });
    const b = reconcilerWith({ leases });
    clock.advance(1000);
    expect(await a.runOnce()).toEqual({ refreshed: 1, failed: 0 });
    expect(await b.runOnce()).toEqual({ refreshed: 0, failed: 0, skipped: true });
    clock.advance(1000);
    expect(await a.runOnce()).toEqual({ refreshed: 1, failed: 0 }); // the holder extends its own lease
    await a.stop();
    clock.advance(1000);
    expect(await b.runOnce()).toEqual({ refreshed: 1, failed: 0 });
    await b.stop();
  });
});
