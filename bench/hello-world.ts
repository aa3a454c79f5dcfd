/**
 * The reference for the HTTP figures: a bare Express 5 app answering a small JSON document, with
 * nothing in front of it. Whatever the service adds per request (security headers, validation,
 * authentication, logging, the store) shows as its ratio to this, measured in the same run.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';

export async function startHelloWorld(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  const app = express();
  app.get('/', (_req, res) => {
    res.json({ hello: 'world' });
  });
  app.post('/', express.json(), (req, res) => {
    res.json({ received: Object.keys((req.body as object | undefined) ?? {}).length });
  });
  const server = app.listen(0, '127.0.0.1');
  let requests = 0;
  server.on('request', () => requests++);
  await new Promise<void>((r) => server.once('listening', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
