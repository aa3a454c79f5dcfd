import { Router } from 'express';
import type { Logger } from 'pino';
import { parseSnsHttpBody } from '../src/events/envelope';
import type { EventProcessor } from '../src/events/event-processor';
import { isAllowedSubscribeUrl, type SnsSignatureVerifier } from '../src/events/sns-signature';

export interface SnsHttpRoutesDeps {
  readonly verifier: SnsSignatureVerifier;
  readonly processor: EventProcessor;
  /** Fetches a SubscribeURL (GET) to confirm a subscription. */
  readonly confirm: (subscribeUrl: string) => Promise<void>;
  /** Extra SubscribeURL patterns beyond AWS SNS hosts (the local simulator only). */
  readonly extraSubscribeUrls?: RegExp[];
  readonly logger: Logger;
}

/**
 * `POST /marketplace/sns`: for sellers who subscribe an HTTPS endpoint to the Marketplace topics
 * directly (facts §4.2, §4.3). Every message's signature is verified against the certificate
 * from an AWS SNS host, the topic must be allow-listed, and a subscription is confirmed only by
 * fetching a SubscribeURL on an AWS SNS host. Unsigned or forged messages get 403.
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
      res.status(400).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'validation_failed', detail: 'The body is not an SNS JSON message.' }));
      return;
    }
    const verified = await deps.verifier.verify(message);
    if (!verified.ok) {
      const status = verified.retryable ? 503 : 403;
      deps.logger.warn({ reason: verified.reason, topicArn: message.TopicArn }, 'SNS HTTP message refused');
      res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: status === 403 ? 'Forbidden' : 'Service Unavailable', status, code: status === 403 ? 'sns_signature_invalid' : 'sns_certificate_unavailable', detail: verified.reason }));
      return;
    }
    const parsed = parseSnsHttpBody(body);
    if (parsed.ok && 'control' in parsed) {
      const control = parsed.control;
      if (!isAllowedSubscribeUrl(control.subscribeUrl, deps.extraSubscribeUrls)) {
        res.status(403).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'sns_subscribe_url_refused', detail: 'The SubscribeURL is not on an AWS SNS host.' }));
        return;
      }
      if (control.type === 'SubscriptionConfirmation') {
        await deps.confirm(control.subscribeUrl);
        deps.logger.info({ topicArn: control.topicArn }, 'SNS subscription confirmed');
      }
      res.status(200).json({ status: 'confirmed' });
      return;
    }
    const result = await deps.processor.handle(parsed, { dedupeKey: `sns-http:${String(message.MessageId ?? 'unknown')}`, channel: 'sns-http', body: body.slice(0, 16_000) });
    res.status(200).json({ status: 'received', outcome: result.outcome });
  });
  return router;
}
