import { uuid } from '../ids';
import type { SnsSigner } from './sns-signer';

/** Everything needed to build envelopes for one topic. */
export interface EnvelopeContext {
  signer: SnsSigner;
  signatureVersion: '1' | '2';
  signingCertUrl: string;
  /** Base URL of the simulator's SNS endpoint (`…/simulator/sns`). */
  snsUrl: string;
}

/**
 * Formats an envelope the way SNS writes it into SQS and HTTP bodies: one `"Key" : value` per
 * line in field order (§4.1). Consumers must parse it as JSON whatever the layout.
 */
export function formatEnvelope(envelope: Record<string, string>): string {
  const lines = Object.entries(envelope).map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

/** A signed `Notification` (§4.1, §4.3). */
export function notificationEnvelope(
  ctx: EnvelopeContext,
  topicArn: string,
  message: string,
  timestamp: string,
  subscriptionArn: string,
  messageId = uuid(),
): Record<string, string> {
  const fields: Record<string, string> = {
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: topicArn,
    Message: message,
    Timestamp: timestamp,
  };
  return {
    ...fields,
    SignatureVersion: ctx.signatureVersion,
    Signature: ctx.signer.sign(fields, ctx.signatureVersion),
    SigningCertURL: ctx.signingCertUrl,
    UnsubscribeURL: `${ctx.snsUrl}?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(subscriptionArn)}`,
  };
}

/** A signed `SubscriptionConfirmation` or `UnsubscribeConfirmation` (§4.2, §4.3). */
export function confirmationEnvelope(
  ctx: EnvelopeContext,
  type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation',
  topicArn: string,
  token: string,
  timestamp: string,
): Record<string, string> {
  const subscribeUrl = `${ctx.snsUrl}?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${encodeURIComponent(token)}`;
  const message =
    type === 'SubscriptionConfirmation'
      ? `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`
      : `You have chosen to deactivate subscription to the topic ${topicArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`;
  const fields: Record<string, string> = {
    Type: type,
    MessageId: uuid(),
    Token: token,
    TopicArn: topicArn,
    Message: message,
    SubscribeURL: subscribeUrl,
    Timestamp: timestamp,
  };
  return {
    ...fields,
    SignatureVersion: ctx.signatureVersion,
    Signature: ctx.signer.sign(fields, ctx.signatureVersion),
    SigningCertURL: ctx.signingCertUrl,
  };
}
