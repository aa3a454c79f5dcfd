import Database from 'better-sqlite3';

/** One tenant of the example app: its own id, and the marketplace customer it belongs to. */
export interface Tenant {
  readonly id: string;
  readonly marketplaceCustomerId: string;
  readonly productCode: string;
  readonly company: string | null;
  readonly email: string | null;
  /** The subscription as the app last heard it: `pending`, `active`, `ending`, `ended`, `failed`. */
  readonly status: string;
  readonly hasAccess: boolean;
}

/**
 * The example app's own tables (SQLite): tenants, and the webhook ids already processed (webhooks
 * arrive at least once: a second delivery of one id changes nothing).
 */
export class TenantStore {
  private readonly db: Database.Database;

  constructor(path = ':memory:') {
    this.db = new Database(path);
    this.db.exec(`
      create table if not exists tenants (
        id text primary key, marketplace_customer_id text not null unique, product_code text not null,
        company text, email text, status text not null, has_access integer not null);
      create table if not exists processed_webhooks (id text primary key, received_at text not null);`);
  }

  /** True the first time a webhook id is seen. */
  firstDelivery(webhookId: string): boolean {
    const r = this.db
      .prepare('insert or ignore into processed_webhooks (id, received_at) values (?, ?)')
      .run(webhookId, new Date().toISOString());
    return r.changes === 1;
  }

  /** The tenant of a marketplace customer, created if it has none. */
  tenantFor(customer: { id: string; productCode: string }): Tenant {
    const found = this.byCustomer(customer.id);
    if (found) return found;
    const count = (this.db.prepare('select count(*) as n from tenants').get() as { n: number }).n;
    this.db
      .prepare('insert into tenants (id, marketplace_customer_id, product_code, status, has_access) values (?, ?, ?, ?, 0)')
      .run(`tenant-${count + 1}`, customer.id, customer.productCode, 'pending');
    return this.byCustomer(customer.id)!;
  }

  update(id: string, fields: Partial<Pick<Tenant, 'company' | 'email' | 'status' | 'hasAccess'>>): void {
    const t = this.get(id);
    if (!t) return;
    const next = { ...t, ...fields };
    this.db
      .prepare('update tenants set company = ?, email = ?, status = ?, has_access = ? where id = ?')
      .run(next.company, next.email, next.status, next.hasAccess ? 1 : 0, id);
  }

  get(id: string): Tenant | undefined {
    return this.row(this.db.prepare('select * from tenants where id = ?').get(id));
  }

  byCustomer(customerId: string): Tenant | undefined {
    return this.row(this.db.prepare('select * from tenants where marketplace_customer_id = ?').get(customerId));
  }

  all(): Tenant[] {
    return (this.db.prepare('select * from tenants order by id').all() as unknown[]).map((r) => this.row(r)!);
  }

  close(): void {
    this.db.close();
  }

  private row(r: unknown): Tenant | undefined {
    if (!r) return undefined;
    const x = r as Record<string, string | number | null>;
    return {
      id: String(x.id),
      marketplaceCustomerId: String(x.marketplace_customer_id),
      productCode: String(x.product_code),
      company: x.company === null ? null : String(x.company),
      email: x.email === null ? null : String(x.email),
      status: String(x.status),
      hasAccess: x.has_access === 1,
    };
  }
}
