import type { CustomerRepository } from '../../../src/customers/customer.repository';
import type { Simulator } from '../../../src/simulator';
import type { Store } from '../../../src/store/database';
import { licenseProduct, sumProduct } from '../metering-support';

export interface ActiveBuyer {
  readonly id: string;
  /** How the usage API names the buyer: the LicenseArn or the CustomerIdentifier. */
  readonly key: string;
  readonly product: typeof sumProduct;
}

/**
 * `n` buyers subscribed and confirmed in the simulator and stored active since `activated`,
 * alternating between the CustomerIdentifier product and the licence product (the crash suites'
 * population, written before any emitter process starts).
 */
export async function activeBuyers(
  sim: Simulator,
  store: Store,
  customers: CustomerRepository,
  n: number,
  activated: Date,
): Promise<ActiveBuyer[]> {
  const who: ActiveBuyer[] = [];
  for (let i = 0; i < n; i++) {
    const product = i % 2 === 0 ? sumProduct : licenseProduct;
    const sub = await sim.subscribe({ productCode: product.code, confirmation: 'manual' });
    await sim.confirm(sub.id);
    const s = sim.subscription(sub.id);
    const c = await customers.upsert(
      product.identity === 'license'
        ? { productCode: product.code, customerAWSAccountId: s.customerAWSAccountId, licenseArn: s.licenseArn }
        : { productCode: product.code, customerIdentifier: s.customerIdentifier },
      activated,
    );
    await store.db
      .transaction()
      .execute((tx) =>
        customers.saveSubscriptionState(
          tx,
          c.id,
          { status: 'active', statusEventTime: activated, activatedAt: activated, finalWindowOpenedAt: null, endedAt: null },
          activated,
        ),
      );
    who.push({ id: c.id, key: (product.identity === 'license' ? s.licenseArn : s.customerIdentifier)!, product });
  }
  return who;
}
