import { createServer, type RequestListener, type Server } from 'node:http';

/** Bounds on client connections (see `Config.http`). */
export interface HttpServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
}

/**
 * An HTTP server that slow or idle clients cannot hold: the headers must arrive within
 * `headersTimeoutMs` and the whole request within `requestTimeoutMs` (else 408 and close), an idle
 * keep-alive socket closes after `keepAliveTimeoutMs`, and past `maxConnections` new connections
 * are dropped. Node checks the first two every `connectionsCheckingInterval`, set here to a
 * fraction of the headers timeout (its default, 30 s, would let a slow client stay much longer).
 */
export async function listenHttp(handler: RequestListener, host: string, port: number, limits: HttpServerLimits): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
