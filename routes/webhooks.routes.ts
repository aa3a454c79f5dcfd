import { Router } from 'express';
import type { Clock } from '../src/platform/clock';
import { NotFoundError, ValidationError } from '../src/platform/errors';
import type { AddressPolicy } from '../src/webhooks/address-policy';
import type { DeliveryRecord, DeliveryRepository, DeliveryStatus } from '../src/webhooks/delivery.repository';
import type { EndpointRepository } from '../src/webhooks/endpoint.repository';
import type { WebhookEventType } from '../src/webhooks/event-types';
import { endpointUrlProblem, type EndpointKind, type WebhookEndpoint } from '../src/webhooks/webhook-endpoint';
import { parseLimit } from './support/limits';

export interface WebhooksRoutesDeps {
  readonly endpoints: EndpointRepository;
  readonly deliveries: DeliveryRepository;
  /** What a target URL may be (aws mode: https, public addresses only). */
  readonly policy: AddressPolicy;
  readonly clock: Clock;
}

/** Default overlap of a secret rotation: a day for the app to switch to the new secret. */
const DEFAULT_OVERLAP_SECONDS = 86_400;

/**
 * Webhook endpoints (`/v1/webhook-endpoints`: URL, event types, enabled; the secret returned once,
 * rotatable with an overlap) and their deliveries (`/v1/webhook-deliveries`: attempts, status,
 * latency, error; redeliver).
 */
export function webhooksRoutes(deps: WebhooksRoutesDeps): Router {
  const router = Router();
  const checkUrl = (url: string) => {
    const problem = endpointUrlProblem(url, deps.policy);
    if (problem) throw new ValidationError(`url ${problem}.`, { errors: [{ path: '/body/url', message: problem }] });
  };

  router.post('/v1/webhook-endpoints', async (req, res) => {
    const body = req.body as {
      url: string;
      kind?: EndpointKind;
      description?: string | null;
      eventTypes?: WebhookEventType[] | null;
      enabled?: boolean;
    };
    checkUrl(body.url);
    const { endpoint, secret } = await deps.endpoints.create(
      { url: body.url, kind: body.kind ?? 'standard', description: body.description, eventTypes: body.eventTypes, enabled: body.enabled },
      deps.clock.now(),
    );
    res.status(201).json({ ...endpointJson(endpoint), secret });
  });

  router.get('/v1/webhook-endpoints', async (_req, res) => {
    res.json({ endpoints: (await deps.endpoints.list()).map(endpointJson) });
  });

  router.get('/v1/webhook-endpoints/:id', async (req, res) => {
    const endpoint = await deps.endpoints.find(String(req.params.id));
    if (!endpoint) throw new NotFoundError(`No webhook endpoint ${String(req.params.id)}.`);
    res.json(endpointJson(endpoint));
  });

  router.patch('/v1/webhook-endpoints/:id', async (req, res) => {
    const body = req.body as { url?: string; description?: string | null; eventTypes?: WebhookEventType[] | null; enabled?: boolean };
    if (body.url !== undefined) checkUrl(body.url);
    res.json(endpointJson(await deps.endpoints.update(String(req.params.id), body, deps.clock.now())));
  });

  router.delete('/v1/webhook-endpoints/:id', async (req, res) => {
    if (!(await deps.endpoints.delete(String(req.params.id), deps.clock.now())))
      throw new NotFoundError(`No webhook endpoint ${String(req.params.id)}.`);
    res.status(204).end();
  });

  router.post('/v1/webhook-endpoints/:id/rotate-secret', async (req, res) => {
    const overlapSeconds = (req.body as { overlapSeconds?: number } | undefined)?.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
    const { endpoint, secret } = await deps.endpoints.rotateSecret(String(req.params.id), overlapSeconds * 1000, deps.clock.now());
    res.json({ ...endpointJson(endpoint), secret });
  });

  router.get('/v1/webhook-deliveries', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = parseLimit(q.limit, 50, 200);
    let before: number | undefined;
    if (q.cursor !== undefined) {
      before = await deps.deliveries.seqOf(q.cursor);
      if (before === undefined)
        throw new ValidationError('cursor is not one this API returned', {
          errors: [{ path: '/query/cursor', message: 'unknown delivery' }],
        });
    }
    const list = await deps.deliveries.list({
      endpointId: q.endpoint,
      status: q.status as DeliveryStatus | undefined,
      eventId: q.event,
      customerId: q.customer,
      before,
      limit,
    });
    const last = list[list.length - 1];
    res.json({ deliveries: list.map(deliveryJson), nextCursor: list.length === limit && last ? last.id : null });
  });

  router.post('/v1/webhook-deliveries/:id/redeliver', async (req, res) => {
    res.status(202).json(deliveryJson(await deps.deliveries.redeliver(String(req.params.id), deps.clock.now())));
  });

  return router;
}

function endpointJson(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    kind: e.kind,
    source: e.source,
    name: e.name,
    description: e.description,
    eventTypes: e.eventTypes,
    enabled: e.enabled,
    previousSecretExpiresAt: e.previousSecret ? (e.previousSecretExpiresAt?.toISOString() ?? null) : null,
    failingSince: e.failingSince?.toISOString() ?? null,
    lastSuccessAt: e.lastSuccessAt?.toISOString() ?? null,
    disabledAt: e.disabledAt?.toISOString() ?? null,
    disabledReason: e.disabledReason,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  };
}

function deliveryJson(d: DeliveryRecord) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    endpointId: d.endpointId,
    customerId: d.customerId,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    redeliveryOf: d.redeliveryOf,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      startedAt: a.startedAt.toISOString(),
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      error: a.error,
    })),
  };
}
