/**
 * Every envelope AWS uses to hand us a Marketplace notification, reduced to one {@link MarketplaceEvent}:
 * - SQS body = SNS envelope (raw delivery off, the default): `Message` is a JSON *string*, parsed a
 *   second time (facts §4.1, §0.11);
 * - SQS body = the Marketplace JSON itself (raw delivery on, facts §4.1: accept both shapes);
 * - SQS body = an EventBridge event (EventBridge → SQS target, facts §5.4), or an SNS envelope around one;
 * - HTTP POST body from an SNS HTTPS subscription (facts §4.2), including the confirmation messages.
 * Nothing here throws: bad input becomes `{ok: false, reason}` (design §4: garbage is recorded and acked).
 * Signatures are checked separately ({@link ./sns-signature}).
 */
import { looksLikeEventBridgeEvent, parseEventBridgeEvent } from './eventbridge-event';
import { isJsonObject, parseJson, readDate, readString, type JsonObject } from './json-fields';
import type { MarketplaceEvent, MarketplaceEventChannel, ParseResult } from './marketplace-event';
import { looksLikeMarketplaceMessage, readMarketplaceMessage } from './marketplace-message';

export type { ParseResult } from './marketplace-event';

/** SQS metadata the caller passes along with the body. */
export interface QueueMessageMeta {
  /** SQS MessageId: the dedupe key for raw delivery, which has no SNS MessageId. */
  messageId: string;
  /** SQS `SentTimestamp` attribute: the event time for raw delivery, which has no envelope Timestamp. */
  sentTimestamp?: Date;
}

/** An SNS control message received over HTTP(S) (facts §4.2). Confirm only after signature verification. */
export interface SnsControlMessage {
  type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  topicArn: string;
  subscribeUrl: string;
  token: string;
  messageId: string;
}

export type SnsHttpParseResult = ParseResult | { ok: true; control: SnsControlMessage };

const MAX_REASON_SNIPPET = 64;
const snippet = (s: string): string => (s.length > MAX_REASON_SNIPPET ? `${s.slice(0, MAX_REASON_SNIPPET)}…` : s);

/** Parses one SQS message body. Never throws. */
export function parseQueueMessage(body: string, meta: QueueMessageMeta): ParseResult {
  try {
    return parseQueueMessageUnsafe(body, meta);
  } catch (err) {
    // Defence in depth: the parsers are total, but a queue handler must never crash on a body.
    return { ok: false, reason: `unparseable message: ${err instanceof Error ? err.message : 'error'}`, dedupeKey: meta.messageId };
  }
}

function parseQueueMessageUnsafe(body: string, meta: QueueMessageMeta): ParseResult {
  if (typeof body !== 'string') return { ok: false, reason: 'message body is not a string', dedupeKey: meta.messageId };
  const parsed = parseJson(body);
  if (!parsed.ok) return { ok: false, reason: `message body is not JSON (${snippet(parsed.reason)})`, dedupeKey: meta.messageId };
  const value = parsed.value;
  if (!isJsonObject(value)) return { ok: false, reason: 'message body is JSON but not an object', dedupeKey: meta.messageId };

  const type = readString(value, ['Type']);
  if (type !== undefined) {
    if (type === 'Notification') return parseSnsNotification(value, 'sns-sqs');
    if (type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation') {
      // A queue normally gets these only for cross-account subscriptions; they must be confirmed by an operator.
      return {
        ok: false,
        reason: `SNS ${type} delivered to the queue: confirm the subscription out of band`,
        dedupeKey: readString(value, ['MessageId']) ?? meta.messageId,
      };
    }
    if (!looksLikeMarketplaceMessage(value) && !looksLikeEventBridgeEvent(value)) {
      return { ok: false, reason: `unknown SNS message Type "${snippet(type)}"`, dedupeKey: meta.messageId };
    }
  }
  if (looksLikeEventBridgeEvent(value)) return parseEventBridgeEvent(value);
  if (looksLikeMarketplaceMessage(value)) {
    // Raw delivery: the Marketplace JSON itself, without SNS metadata (facts §4.1: "any Amazon SNS
    // metadata is stripped"). The Marketplace message has no id and no time of its own (§5.2, §5.3:
    // action, customer-identifier, product-code, offer-identifier, isFreeTrialTermPresent), so the
    // SQS MessageId and SentTimestamp are the only identity and time there are. A body that does
    // carry them (an EventBridge event) is handled above with its own `id` and `time`.
    if (meta.sentTimestamp === undefined || Number.isNaN(meta.sentTimestamp.getTime())) {
      return { ok: false, reason: 'raw Marketplace message without an SQS SentTimestamp: no event time', dedupeKey: meta.messageId };
    }
    return toEvent(value, { dedupeKey: meta.messageId, channel: 'sns-raw', eventTime: meta.sentTimestamp });
  }
  return { ok: false, reason: 'not an SNS envelope, a Marketplace message or an EventBridge event', dedupeKey: meta.messageId };
}

/** Parses the body of an SNS HTTP(S) POST (always JSON, whatever the Content-Type: facts §4.2). Never throws. */
export function parseSnsHttpBody(body: string): SnsHttpParseResult {
  try {
    if (typeof body !== 'string') return { ok: false, reason: 'request body is not a string' };
    const parsed = parseJson(body);
    if (!parsed.ok) return { ok: false, reason: `request body is not JSON (${snippet(parsed.reason)})` };
    const value = parsed.value;
    if (!isJsonObject(value)) return { ok: false, reason: 'request body is JSON but not an object' };
    const type = readString(value, ['Type']);
    if (type === 'Notification') return parseSnsNotification(value, 'sns-http');
    if (type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation') {
      const messageId = readString(value, ['MessageId']);
      const topicArn = readString(value, ['TopicArn']);
      const subscribeUrl = readString(value, ['SubscribeURL']);
      const token = readString(value, ['Token']);
      if (!messageId || !topicArn || !subscribeUrl || !token) {
        return {
          ok: false,
          reason: `SNS ${type} lacks MessageId, TopicArn, SubscribeURL or Token`,
          ...(messageId ? { dedupeKey: messageId } : {}),
        };
      }
      return { ok: true, control: { type, topicArn, subscribeUrl, token, messageId } };
    }
    return { ok: false, reason: type === undefined ? 'request body has no SNS "Type"' : `unknown SNS message Type "${snippet(type)}"` };
  } catch (err) {
    return { ok: false, reason: `unparseable request: ${err instanceof Error ? err.message : 'error'}` };
  }
}

/** An SNS `Notification` envelope (facts §4.1): MessageId, Timestamp, TopicArn, and `Message` parsed again. */
function parseSnsNotification(envelope: JsonObject, channel: MarketplaceEventChannel): ParseResult {
  const messageId = readString(envelope, ['MessageId']);
  if (messageId === undefined) return { ok: false, reason: 'SNS notification has no MessageId' };
  const eventTime = readDate(envelope, ['Timestamp']);
  if (eventTime === undefined) return { ok: false, reason: 'SNS notification has no valid Timestamp', dedupeKey: messageId };
  const topicArn = readString(envelope, ['TopicArn']);
  const raw = envelope['Message'];
  let inner: unknown = raw;
  if (typeof raw === 'string') {
    const parsed = parseJson(raw);
    if (!parsed.ok) return { ok: false, reason: `SNS Message is not JSON (${snippet(parsed.reason)})`, dedupeKey: messageId };
    inner = parsed.value;
  } else if (!isJsonObject(raw)) {
    return { ok: false, reason: 'SNS notification has no Message', dedupeKey: messageId };
  }
  if (looksLikeEventBridgeEvent(inner)) {
    const r = parseEventBridgeEvent(inner, topicArn === undefined ? {} : { topicArn });
    return r.ok ? r : { ...r, dedupeKey: r.dedupeKey ?? messageId };
  }
  return toEvent(inner, { dedupeKey: messageId, channel, eventTime, ...(topicArn === undefined ? {} : { topicArn }) });
}

function toEvent(
  inner: unknown,
  base: { dedupeKey: string; channel: MarketplaceEventChannel; eventTime: Date; topicArn?: string },
): ParseResult {
  const r = readMarketplaceMessage(inner, base.topicArn);
  if (!r.ok) return { ok: false, reason: r.reason, dedupeKey: base.dedupeKey };
  const event: MarketplaceEvent = { ...base, ...r.fields, payload: inner };
  return { ok: true, event };
}
