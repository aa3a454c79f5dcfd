import { Router, type Response } from 'express';
import type { Logger } from '../src/platform/logger';
import { parseSnsHttpBody } from '../src/events/envelope';
import type { EventProcessor } from '../src/events/event-processor';
import type { SnsSignatureVerifier } from '../src/events/sns-signature';
import { isAllowedSubscribeUrl, type SnsTrust } from '../src/events/sns-trust';

export interface SnsHttpRoutesDeps {
  readonly verifier: SnsSignatureVerifier;
  readonly processor: EventProcessor;
  /** Fetches a SubscribeURL (GET) to confirm a subscription. */
  readonly confirm: (subscribeUrl: string) => Promise<void>;
  /** The embedded simulator's origin, trusted for SubscribeURLs (simulator mode and tests only). */
  readonly trust: SnsTrust;
  readonly logger: Logger;
}

/** Shown in logs for a TopicArn nobody has authenticated yet: a short, printable prefix. */
function loggable(value: unknown): string | undefined {
  return typeof value === 'string' ? value.replace(/[^\x20-\x7e]/g, '?').slice(0, 120) : undefined;
}

function problem(res: Response, status: number, code: string, detail: string): void {
  const titles: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 503: 'Service Unavailable' };
  if (status === 503) res.setHeader('Retry-After', '30');
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title: titles[status] ?? 'Error', status, code, detail }));
}

/**
 * `POST /marketplace/sns`: for sellers who subscribe an HTTPS endpoint to the Marketplace topics
 * directly (facts §4.2, §4.3). Every message's signature is verified against the certificate
 * from an AWS SNS host, the topic must be allow-listed, and a subscription is confirmed only by
 * fetching a SubscribeURL on an AWS SNS host. Unsigned or forged messages get 403; every answer,
 * errors included, is problem+json (SNS reads only the status).
 */
export function snsHttpRoutes(deps: SnsHttpRoutesDeps): Router {
  const router = Router();
  // The app reads this path's body as raw text whatever the type (SNS posts JSON as text/plain).
  router.post('/marketplace/sns', async (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    let message: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(body);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
      message = value as Record<string, unknown>;
    } catch {
      problem(res, 400, 'validation_failed', 'The body is not an SNS JSON message.');
      return;
    }
    const verified = await deps.verifier.verify(message);
    if (!verified.ok) {
      deps.logger.warn({ reason: verified.reason, topicArn: loggable(message.TopicArn) }, 'SNS HTTP message refused');
      if (verified.retryable) problem(res, 503, 'sns_certificate_unavailable', verified.reason);
      else problem(res, 403, 'sns_signature_invalid', verified.reason);
      return;
    }
    const parsed = parseSnsHttpBody(body);
    if (parsed.ok && 'control' in parsed) {
      const control = parsed.control;
      if (!isAllowedSubscribeUrl(control.subscribeUrl, deps.trust)) {
        problem(res, 403, 'sns_subscribe_url_refused', 'The SubscribeURL is not on an AWS SNS host.');
        return;
      }
      if (control.type === 'SubscriptionConfirmation') {
        try {
          await deps.confirm(control.subscribeUrl);
        } catch (error) {
          deps.logger.warn({ err: error, topicArn: control.topicArn }, 'SNS subscription confirmation failed; SNS will send it again');
          problem(res, 503, 'sns_confirmation_failed', 'The subscription could not be confirmed just now.');
          return;
        }
        deps.logger.info({ topicArn: control.topicArn }, 'SNS subscription confirmed');
      }
      res.status(200).json({ status: 'confirmed' });
      return;
    }
    const result = await deps.processor.handle(parsed, {
      dedupeKey: `sns-http:${String(message.MessageId ?? 'unknown').slice(0, 200)}`,
      channel: 'sns-http',
      body: body.slice(0, 16_000),
    });
    res.status(200).json({ status: 'received', outcome: result.outcome });
  });
  return router;
}
