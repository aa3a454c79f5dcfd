import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AwsApi } from './aws-api';

/** Bodies above this are refused outright (SQS batches may reach 1 MiB; metering must be under 1 MB). */
const MAX_BODY_BYTES = 2 * 1_048_576;

export type ControlHandler = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => Promise<void>;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The single HTTP listener: AWS JSON calls (by `X-Amz-Target`), SQS Query calls (form bodies
 * with `Action=`), and `/simulator…` control routes. Nothing thrown inside reaches Node as an
 * unhandled error.
 */
export class SimulatorServer {
  private readonly server: Server;
  /** Responses not yet finished, so close() can make their sockets close after them. */
  private readonly open = new Set<ServerResponse>();
  private closing = false;

  constructor(
    private readonly api: AwsApi,
    private readonly control: ControlHandler,
    private readonly log: (line: string) => void,
  ) {
    this.server = createServer((req, res) => {
      // While stopping, every answer (a long poll woken by stop(), a call that arrived on a
      // kept-alive socket) ends its connection, so no socket is left idle waiting to be reaped.
      if (this.closing) res.setHeader('connection', 'close');
      else {
        this.open.add(res);
        res.once('close', () => this.open.delete(res));
      }
      this.handle(req, res).catch((err: unknown) => {
        this.log(`unhandled: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: 'InternalFailure', message: 'internal error' }));
        } else res.destroy();
      });
    });
    // Long polls last up to 20 s; keep sockets open longer than the SDK's keep-alive expectations.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.requestTimeout = 0;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting, closes idle keep-alive sockets at once, lets answers in progress finish
   * briefly (each then closes its socket), and after 250 ms closes whatever is left.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
    this.open.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), 250);
    await closed;
    clearTimeout(timer);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const body = await readBody(req);
    if (body === undefined) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ __type: 'RequestEntityTooLargeException', message: `Request body exceeds ${MAX_BODY_BYTES} bytes` }));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    if (url.pathname === '/simulator' || url.pathname.startsWith('/simulator/')) return this.control(req, res, url, body);
    if (req.method === 'POST') {
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string') return this.api.json(req, res, target, body, abort.signal);
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.includes('application/x-www-form-urlencoded') || /^Action=|&Action=/.test(body))
        return this.api.query(req, res, body, abort.signal);
      return this.api.json(req, res, '', body, abort.signal);
    }
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('AWS Marketplace simulator. Control page: /simulator\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }
}
