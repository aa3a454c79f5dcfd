/**
 * Outbound webhook POSTs, safe against request forgery (SECURITY.md "Outbound webhooks"):
 *  - the scheme: `https:` only, unless the policy allows `http:` (simulator mode);
 *  - the address: a literal IP in the URL is checked before anything else; a name is resolved by
 *    this module's own `lookup`, which refuses the connection unless *every* address it resolves to
 *    is allowed, and hands the socket exactly the address it checked. It runs for every attempt (no
 *    connection is reused), so a DNS answer that changes between attempts (rebinding) is checked
 *    again; the connected socket's peer address is checked once more;
 *  - no redirect is followed (a 3xx is the answer, and a failure);
 *  - bounded: a connect timeout, a deadline for the whole exchange, and at most `maxResponseBytes`
 *    of the answer read (the rest is discarded by closing the connection).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIpLiteral, refusalOf, type AddressPolicy } from './address-policy';

/** Resolves a host name to every address it has (default: the system resolver, as a connection would use it). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/** Limits and policy of a {@link WebhookTransport}. */
export interface TransportOptions {
  readonly policy: AddressPolicy;
  /** Time to establish the TCP connection, ms (the TLS handshake counts against `timeoutMs`). Default 5,000. */
  readonly connectTimeoutMs?: number;
  /** Deadline for the whole exchange, answer included, ms. Default 15,000. */
  readonly timeoutMs?: number;
  /** Bytes of the answer kept (for the delivery log); more are not read. Default 4,096. */
  readonly maxResponseBytes?: number;
  /** Default: {@link systemResolver}. */
  readonly resolve?: Resolver;
  /** Sent as `User-Agent`. */
  readonly userAgent?: string;
}

export interface TransportRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface TransportResponse {
  readonly status: number;
  /** The first `maxResponseBytes` of the answer, as text. */
  readonly body: string;
  readonly latencyMs: number;
}

/** Why a POST got no HTTP answer. `refused`: this module would not connect (policy); never retried into success by waiting. */
export class WebhookTransportError extends Error {
  constructor(
    message: string,
    readonly kind: 'refused' | 'timeout' | 'network' | 'invalid_url',
    readonly latencyMs: number,
  ) {
    super(message);
    this.name = 'WebhookTransportError';
  }
}

export type WebhookTransport = (request: TransportRequest) => Promise<TransportResponse>;

/** A transport with its own policy and bounds; `now` is a monotonic ms reading for latencies. */
export function createWebhookTransport(options: TransportOptions, now: () => number = () => performance.now()): WebhookTransport {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxResponseBytes ?? 4_096;
  const resolve = options.resolve ?? systemResolver;
  const policy = options.policy;

  /** Resolves, checks every address, and hands the connection the first one (the one checked). */
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const refused = addresses.map((a) => [a, refusalOf(a.address, policy)] as const).find(([, why]) => why !== null);
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
        if (refused) {
          return callback(
            Object.assign(new Error(`${hostname} resolves to ${refused[0].address}, ${refused[1]}: refused`), { code: 'EWEBHOOKREFUSED' }),
            '',
            4,
          );
        }
        const family = (lookupOptions as { family?: number }).family;
        const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        const first = usable[0] ?? addresses[0]!;
        callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };

  return (request) =>
    new Promise<TransportResponse>((resolvePromise, reject) => {
      const started = now();
      const fail = (message: string, kind: WebhookTransportError['kind']) =>
        reject(new WebhookTransportError(message, kind, Math.round(now() - started)));
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return fail('the URL does not parse', 'invalid_url');
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
        return fail(`${url.protocol} targets are refused (https only)`, 'refused');
      }
      if (url.username || url.password) return fail('a URL with credentials is refused', 'refused');
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIpLiteral(host)) {
        const why = refusalOf(host, policy);
        if (why) return fail(`${host} is ${why}: refused`, 'refused');
      }
      const client = url.protocol === 'https:' ? https : http;
      let settled = false;
      const req = client.request(
        {
          protocol: url.protocol,
          hostname: host,
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          // One connection per attempt: every attempt resolves and checks afresh.
          agent: false,
          lookup,
          headers: {
            ...request.headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(request.body)),
            ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
            connection: 'close',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = () => {
            if (settled) return;
            settled = true;
            clearTimeout(deadline);
            resolvePromise({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'),
              latencyMs: Math.round(now() - started),
            });
            req.destroy();
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            // Enough for the log: stop reading here rather than let an endpoint stream at us.
            if (size >= maxBytes) finish();
          });
          res.on('end', finish);
          res.on('error', () => finish());
        },
      );
      const deadline = setTimeout(() => {
        if (settled) return;
        settled = true;
        req.destroy();
        fail(`no complete answer within ${timeoutMs} ms`, 'timeout');
      }, timeoutMs);
      req.on('socket', (socket) => {
        const connectTimer = setTimeout(() => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          req.destroy();
          fail(`could not connect within ${connectTimeoutMs} ms`, 'timeout');
        }, connectTimeoutMs);
        socket.once('connect', () => {
          clearTimeout(connectTimer);
          // The peer actually connected to, checked once more (belt and braces over `lookup`).
          const why = socket.remoteAddress ? refusalOf(socket.remoteAddress, policy) : 'an unknown peer';
          if (why && !settled) {
            settled = true;
            clearTimeout(deadline);
            req.destroy();
            fail(`connected to ${socket.remoteAddress ?? '?'}, ${why}: refused`, 'refused');
          }
        });
        socket.once('close', () => clearTimeout(connectTimer));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        const refused = error.code === 'EWEBHOOKREFUSED';
        fail(refused ? error.message : `request failed: ${error.code ?? error.message}`.slice(0, 300), refused ? 'refused' : 'network');
      });
      req.end(request.body);
    });
}
