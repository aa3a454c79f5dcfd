import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedHook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The status this receiver answered. */
  readonly status: number;
  readonly id: string;
  readonly type: string;
  readonly customerId: string | undefined;
}

export interface ReceiverOptions {
  /** The status for the n-th request (0-based). Default 200. */
  readonly statusFor?: (n: number, body: string) => number;
  /** Time before answering, ms. Default 0. */
  readonly delayMs?: number;
  /** Extra headers on every answer (e.g. a Location). */
  readonly headers?: Record<string, string>;
}

/**
 * A local webhook receiver that records every request, and every overlap of two requests with one
 * `webhook-id` (the same attempt delivered twice at once).
 */
export class WebhookReceiver {
  readonly received: ReceivedHook[] = [];
  /** webhook-ids seen in flight twice at once. */
  readonly overlaps: string[] = [];
  private readonly inFlight = new Map<string, number>();
  private server: Server | undefined;
  url = '';

  constructor(private options: ReceiverOptions = {}) {}

  set(options: ReceiverOptions): void {
    this.options = options;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['webhook-id'] ?? '');
        const n = this.inFlight.get(id) ?? 0;
        if (n > 0 && id) this.overlaps.push(id);
        this.inFlight.set(id, n + 1);
        const status = this.options.statusFor?.(this.received.length, body) ?? 200;
        let parsed: { type?: string; data?: { customer?: { id?: string } } } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // a Slack body or garbage: recorded as it is
        }
        this.received.push({ headers: req.headers, body, status, id, type: parsed.type ?? '', customerId: parsed.data?.customer?.id });
        setTimeout(() => {
          this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
          res.writeHead(status, { 'content-type': 'text/plain', ...(this.options.headers ?? {}) });
          res.end(status < 300 ? 'ok' : `failure ${status}`);
        }, this.options.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Requests answered 2xx. */
  delivered(): ReceivedHook[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }
}

/**
 * Checks a Standard Webhooks signature with the library, at the message's own timestamp (tests move
 * a manual clock, so the library's five-minute tolerance around the real time does not apply).
 */
export function signatureValid(hook: ReceivedHook, secret: string): boolean {
  const ts = Number(hook.headers['webhook-timestamp']);
  const expected = new Webhook(secret).sign(hook.id, new Date(ts * 1000), hook.body);
  return String(hook.headers['webhook-signature'] ?? '')
    .split(' ')
    .includes(expected);
}
