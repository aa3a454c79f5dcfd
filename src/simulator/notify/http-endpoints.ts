import { randomBytes } from 'node:crypto';
import { uuid } from '../ids';
import type { HttpEndpointSubscription } from '../types';
import { confirmationEnvelope, formatEnvelope, type EnvelopeContext } from './sns-envelope';

interface EndpointState extends HttpEndpointSubscription {
  token: string;
}

/**
 * SNS HTTP(S) subscriptions (§4.2): a signed SubscriptionConfirmation is POSTed first; nothing
 * else is delivered until the endpoint GETs the SubscribeURL. Each POST carries the
 * `x-amz-sns-*` headers and `Content-Type: text/plain; charset=UTF-8`. A failed delivery
 * (connection error or 5xx) is retried 3 times, `retryDelayMs` apart (SNS's default HTTP
 * delivery policy is 3 retries 20 s apart).
 */
export class HttpEndpoints {
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();

  constructor(
    private readonly envelopeContext: () => EnvelopeContext,
    private readonly now: () => number,
    private readonly retryDelayMs: number,
    private readonly log: (line: string) => void,
  ) {}

  async subscribe(topicArn: string, url: string): Promise<HttpEndpointSubscription> {
    const state: EndpointState = {
      subscriptionArn: `${topicArn}:${uuid()}`,
      topicArn,
      url,
      confirmed: false,
      token: randomBytes(64).toString('hex'),
    };
    this.endpoints.set(state.subscriptionArn, state);
    const envelope = confirmationEnvelope(
      this.envelopeContext(),
      'SubscriptionConfirmation',
      topicArn,
      state.token,
      new Date(this.now()).toISOString(),
    );
    // The doc's SubscriptionConfirmation sample has no x-amz-sns-subscription-arn header (§4.2).
    // Wait for the first attempt only; retries of an unreachable endpoint continue in the background.
    if (!(await this.attempt(state, envelope, false))) this.track(this.post(state, envelope, false, 1));
    return view(state);
  }

  /** GET SubscribeURL. Returns the subscription, or undefined for an unknown token. */
  confirm(topicArn: string, token: string): HttpEndpointSubscription | undefined {
    const state = [...this.endpoints.values()].find((e) => e.topicArn === topicArn && e.token === token);
    if (!state) return undefined;
    state.confirmed = true;
    return view(state);
  }

  /** GET UnsubscribeURL: stops deliveries and sends an UnsubscribeConfirmation. */
  unsubscribe(subscriptionArn: string): boolean {
    const state = this.endpoints.get(subscriptionArn);
    if (!state) return false;
    state.confirmed = false;
    const envelope = confirmationEnvelope(
      this.envelopeContext(),
      'UnsubscribeConfirmation',
      state.topicArn,
      state.token,
      new Date(this.now()).toISOString(),
    );
    this.track(this.post(state, envelope, true));
    return true;
  }

  list(): HttpEndpointSubscription[] {
    return [...this.endpoints.values()].map(view);
  }

  /** Confirmed subscriptions of a topic. */
  confirmedFor(topicArn: string): HttpEndpointSubscription[] {
    return [...this.endpoints.values()].filter((e) => e.confirmed && e.topicArn === topicArn).map(view);
  }

  /** Delivers a notification envelope in the background (with retries). */
  deliver(subscriptionArn: string, envelope: Record<string, string>): void {
    const state = this.endpoints.get(subscriptionArn);
    if (state?.confirmed) this.track(this.post(state, envelope, true));
  }

  /** Waits for background deliveries (used by tests through flushNotifications). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  stop(): void {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async post(
    state: EndpointState,
    envelope: Record<string, string>,
    withSubscriptionArn: boolean,
    firstAttempt = 0,
  ): Promise<void> {
    for (let attempt = firstAttempt; attempt <= 3; attempt++) {
      if (this.abort.signal.aborted) return;
      if (attempt > 0) await this.sleep(this.retryDelayMs);
      if (await this.attempt(state, envelope, withSubscriptionArn)) return;
    }
  }

  /** One POST; true when delivered (any status below 500 counts as delivered). */
  private async attempt(state: EndpointState, envelope: Record<string, string>, withSubscriptionArn: boolean): Promise<boolean> {
    if (this.abort.signal.aborted) return true;
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=UTF-8',
      'user-agent': 'Amazon Simple Notification Service Agent',
      'x-amz-sns-message-type': envelope.Type!,
      'x-amz-sns-message-id': envelope.MessageId!,
      'x-amz-sns-topic-arn': state.topicArn,
      ...(withSubscriptionArn ? { 'x-amz-sns-subscription-arn': state.subscriptionArn } : {}),
    };
    try {
      const res = await fetch(state.url, { method: 'POST', headers, body: formatEnvelope(envelope), signal: this.abort.signal });
      await res.arrayBuffer().catch(() => undefined);
      this.log(`sns http ${envelope.Type} ${envelope.MessageId} → ${state.url}: ${res.status}`);
      return res.status < 500;
    } catch (err) {
      this.log(`sns http ${envelope.Type} ${envelope.MessageId} → ${state.url}: ${(err as Error).message}`);
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}

function view(e: EndpointState): HttpEndpointSubscription {
  return { subscriptionArn: e.subscriptionArn, topicArn: e.topicArn, url: e.url, confirmed: e.confirmed };
}
