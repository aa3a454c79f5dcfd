import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { AppError, NotFoundError } from '../platform/errors';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from '../store/dialect';
import type { Database, WebhookEndpointsTable } from '../store/schema';
import type { WebhookEventType } from './event-types';
import { appendOutboxEvent } from './outbox.repository';
import { generateWebhookSecret } from './webhook-signature';
import type { EndpointKind, WebhookEndpoint } from './webhook-endpoint';

type Db = Kysely<Database> | Transaction<Database>;

/** A new endpoint (API). */
export interface EndpointInput {
  readonly url: string;
  readonly kind: EndpointKind;
  readonly description?: string | null;
  readonly eventTypes?: readonly WebhookEventType[] | null;
  readonly enabled?: boolean;
}

/** A change to an endpoint (API); absent fields stay. */
export interface EndpointPatch {
  readonly url?: string;
  readonly description?: string | null;
  readonly eventTypes?: readonly WebhookEventType[] | null;
  readonly enabled?: boolean;
}

/** An endpoint from WEBHOOK_ENDPOINTS (config.ts validated it). */
export interface ConfiguredEndpoint {
  readonly name: string;
  readonly url: string;
  readonly kind: EndpointKind;
  readonly secret?: string;
  readonly previousSecret?: string;
  readonly eventTypes?: readonly WebhookEventType[];
  readonly description?: string;
}

/**
 * Webhook endpoints: managed by API or synchronised from the configuration at start-up; deleted
 * ones are kept (their delivery history stays readable) but receive nothing more.
 */
export class EndpointRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates an endpoint; its signing secret (Slack endpoints have none) is returned here only. */
  async create(input: EndpointInput, now: Date): Promise<{ endpoint: WebhookEndpoint; secret: string | null }> {
    const secret = input.kind === 'standard' ? generateWebhookSecret() : null;
    const at = toDbTime(now);
    const row: Selectable<WebhookEndpointsTable> = {
      id: `we_${randomUUID().replace(/-/g, '')}`,
      source: 'api',
      name: null,
      kind: input.kind,
      url: input.url,
      description: input.description ?? null,
      event_types: input.eventTypes && input.eventTypes.length > 0 ? JSON.stringify(input.eventTypes) : null,
      enabled: input.enabled === false ? 0 : 1,
      secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      failing_since: null,
      last_success_at: null,
      disabled_at: null,
      disabled_reason: null,
      deleted_at: null,
      created_at: at,
      updated_at: at,
    };
    await this.db.insertInto('webhook_endpoints').values(row).execute();
    return { endpoint: toEndpoint(row), secret };
  }

  async list(): Promise<WebhookEndpoint[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toEndpoint);
  }

  /** The endpoint, deleted ones included when asked (the dispatcher must know it was deleted). */
  async find(id: string, opts: { includeDeleted?: boolean } = {}, db: Db = this.db): Promise<WebhookEndpoint | undefined> {
    let q = db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
    if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
    const row = await q.executeTakeFirst();
    return row ? toEndpoint(row) : undefined;
  }

  async findMany(ids: readonly string[]): Promise<Map<string, WebhookEndpoint & { deleted: boolean }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    return new Map(rows.map((r) => [r.id, { ...toEndpoint(r), deleted: r.deleted_at !== null }]));
  }

  /**
   * Changes an endpoint. An endpoint from the configuration only takes `enabled` (the rest is the
   * configuration's). Enabling clears the failure record, so the disable clock starts afresh.
   */
  async update(id: string, patch: EndpointPatch, now: Date): Promise<WebhookEndpoint> {
    const current = await this.find(id);
    if (!current) throw new NotFoundError(`No webhook endpoint ${id}.`);
    const other = patch.url !== undefined || patch.description !== undefined || patch.eventTypes !== undefined;
    if (current.source === 'config' && other) {
      throw new AppError(`Webhook endpoint ${id} comes from WEBHOOK_ENDPOINTS; change it there (only "enabled" can be set here).`, {
        code: 'config_managed',
        httpStatus: 409,
      });
    }
    const enabling = patch.enabled === true && !current.enabled;
    await this.db
      .updateTable('webhook_endpoints')
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.eventTypes !== undefined
          ? { event_types: patch.eventTypes && patch.eventTypes.length > 0 ? JSON.stringify(patch.eventTypes) : null }
          : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled ? 1 : 0 } : {}),
        ...(enabling ? { failing_since: null, disabled_at: null, disabled_reason: null } : {}),
        ...(patch.enabled === false && current.enabled ? { disabled_at: toDbTime(now), disabled_reason: 'disabled by API' } : {}),
        updated_at: toDbTime(now),
      })
      .where('id', '=', id)
      .execute();
    return (await this.find(id))!;
  }

  /** Deletes an endpoint: its deliveries not yet made are cancelled. False: no such endpoint. */
  async delete(id: string, now: Date): Promise<boolean> {
    const current = await this.find(id);
    if (!current) return false;
    if (current.source === 'config') {
      throw new AppError(`Webhook endpoint ${id} comes from WEBHOOK_ENDPOINTS; remove it there.`, {
        code: 'config_managed',
        httpStatus: 409,
      });
    }
    await this.db.transaction().execute(async (tx) => {
      const at = toDbTime(now);
      await tx.updateTable('webhook_endpoints').set({ deleted_at: at, enabled: 0, updated_at: at }).where('id', '=', id).execute();
      await tx
        .updateTable('webhook_deliveries')
        .set({ status: 'cancelled', last_error: 'the endpoint was deleted', lease_owner: null, lease_until: null, updated_at: at })
        .where('endpoint_id', '=', id)
        .where('status', 'in', ['pending', 'delivering'])
        .execute();
    });
    return true;
  }

  /**
   * A new signing secret, returned once. The previous one keeps signing for `overlapMs` (both
   * signatures are sent), so the app can switch without dropping a message.
   */
  async rotateSecret(id: string, overlapMs: number, now: Date): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const current = await this.find(id);
    if (!current) throw new NotFoundError(`No webhook endpoint ${id}.`);
    if (current.source === 'config') {
      throw new AppError(`Webhook endpoint ${id} comes from WEBHOOK_ENDPOINTS; rotate its secret there (secret and previousSecret).`, {
        code: 'config_managed',
        httpStatus: 409,
      });
    }
    if (current.kind !== 'standard') {
      throw new AppError('A Slack endpoint is not signed; it has no secret to rotate.', { code: 'no_secret', httpStatus: 409 });
    }
    const secret = generateWebhookSecret();
    await this.db
      .updateTable('webhook_endpoints')
      .set({
        secret,
        previous_secret: overlapMs > 0 ? current.secret : null,
        previous_secret_expires_at: overlapMs > 0 ? toDbTime(new Date(now.getTime() + overlapMs)) : null,
        updated_at: toDbTime(now),
      })
      .where('id', '=', id)
      .execute();
    return { endpoint: (await this.find(id))!, secret };
  }

  /**
   * Makes the stored configured endpoints match the configuration: new ones created, changed ones
   * updated (their enabled state kept: a disabled endpoint stays disabled until enabled by API),
   * removed ones deleted. Safe to run on every instance at every start.
   */
  async syncConfigured(configured: readonly ConfiguredEndpoint[], now: Date): Promise<void> {
    const at = toDbTime(now);
    await this.db.transaction().execute(async (tx) => {
      const stored = await tx.selectFrom('webhook_endpoints').selectAll().where('source', '=', 'config').execute();
      for (const c of configured) {
        const id = `cfg_${c.name}`;
        const fields = {
          name: c.name,
          kind: c.kind,
          url: c.url,
          description: c.description ?? null,
          event_types: c.eventTypes && c.eventTypes.length > 0 ? JSON.stringify(c.eventTypes) : null,
          secret: c.secret ?? null,
          previous_secret: c.previousSecret ?? null,
          previous_secret_expires_at: null,
          deleted_at: null,
          updated_at: at,
        };
        if (stored.some((s) => s.id === id)) await tx.updateTable('webhook_endpoints').set(fields).where('id', '=', id).execute();
        else
          await tx
            .insertInto('webhook_endpoints')
            .values({
              ...fields,
              id,
              source: 'config',
              enabled: 1,
              failing_since: null,
              last_success_at: null,
              disabled_at: null,
              disabled_reason: null,
              created_at: at,
            })
            .execute();
      }
      const keep = new Set(configured.map((c) => `cfg_${c.name}`));
      for (const s of stored.filter((x) => !keep.has(x.id) && x.deleted_at === null)) {
        await tx.updateTable('webhook_endpoints').set({ deleted_at: at, enabled: 0, updated_at: at }).where('id', '=', s.id).execute();
        await tx
          .updateTable('webhook_deliveries')
          .set({ status: 'cancelled', last_error: 'the endpoint was removed from WEBHOOK_ENDPOINTS', updated_at: at })
          .where('endpoint_id', '=', s.id)
          .where('status', 'in', ['pending', 'delivering'])
          .execute();
      }
    });
  }

  /** A delivery succeeded: the endpoint is healthy again. */
  async recordSuccess(tx: Db, id: string, now: Date): Promise<void> {
    await tx
      .updateTable('webhook_endpoints')
      .set({ failing_since: null, last_success_at: toDbTime(now) })
      .where('id', '=', id)
      .execute();
  }

  /**
   * An attempt failed. When the endpoint has been failing for `disableAfterMs` it is disabled, and
   * `webhook_endpoint.disabled` goes to the outbox (for the other endpoints and the console) in the
   * same transaction. Returns true when this call disabled it.
   */
  async recordFailure(tx: Db, id: string, now: Date, disableAfterMs: number, lastError: string): Promise<boolean> {
    const at = toDbTime(now);
    await tx
      .updateTable('webhook_endpoints')
      .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(at)) }))
      .where('id', '=', id)
      .execute();
    const row = await tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.enabled !== 1 || row.deleted_at !== null || row.failing_since === null) return false;
    const failingSince = fromDbTime(row.failing_since);
    if (now.getTime() - failingSince.getTime() < disableAfterMs) return false;
    const hours = Math.round((now.getTime() - failingSince.getTime()) / 360_000) / 10;
    const reason = `failing for ${hours} h since ${failingSince.toISOString()}; last error: ${lastError}`.slice(0, 500);
    const r = await tx
      .updateTable('webhook_endpoints')
      .set({ enabled: 0, disabled_at: at, disabled_reason: reason, updated_at: at })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await appendOutboxEvent(tx, {
      type: 'webhook_endpoint.disabled',
      at: now,
      orderingKey: `endpoint:${id}`,
      excludeEndpointId: id,
      data: {
        endpoint: { id, url: row.url, name: row.name, failingSince: failingSince.toISOString(), disabledAt: now.toISOString(), reason },
      },
    });
    return true;
  }
}

export function toEndpoint(row: Selectable<WebhookEndpointsTable>): WebhookEndpoint {
  return {
    id: row.id,
    source: row.source === 'config' ? 'config' : 'api',
    name: row.name,
    kind: row.kind === 'slack' ? 'slack' : 'standard',
    url: row.url,
    description: row.description,
    eventTypes: row.event_types ? (JSON.parse(row.event_types) as WebhookEventType[]) : null,
    enabled: row.enabled === 1,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: fromDbTimeOrNull(row.previous_secret_expires_at),
    failingSince: fromDbTimeOrNull(row.failing_since),
    lastSuccessAt: fromDbTimeOrNull(row.last_success_at),
    disabledAt: fromDbTimeOrNull(row.disabled_at),
    disabledReason: row.disabled_reason,
    createdAt: fromDbTime(row.created_at),
    updatedAt: fromDbTime(row.updated_at),
  };
}
