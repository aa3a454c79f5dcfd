import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundedGet, OutboundFetchError } from '../../src/platform/bounded-fetch.gateway';

describe('boundedGet', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/ok') res.end('certificate');
      else if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
      else if (req.url === '/big') res.end('x'.repeat(100_000));
      else if (req.url === '/big-chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        for (let i = 0; i < 100; i++) res.write('y'.repeat(1000));
        res.end();
      } else if (req.url === '/hang') res.writeHead(200).write('partial');
      else res.writeHead(404).end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('returns status and body', async () => {
    await expect(boundedGet(`${base}/ok`)).resolves.toEqual({ status: 200, body: 'certificate' });
    await expect(boundedGet(`${base}/missing`)).resolves.toEqual({ status: 404, body: 'no' });
  });

  it('does not follow a redirect', async () => {
    hits.length = 0;
    await expect(boundedGet(`${base}/redirect`)).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/redirect/) });
    expect(hits).toEqual(['/redirect']);
  });

  it('refuses a body over the limit, declared or streamed', async () => {
    await expect(boundedGet(`${base}/big`, { maxBytes: 16_384 })).rejects.toBeInstanceOf(OutboundFetchError);
    await expect(boundedGet(`${base}/big-chunked`, { maxBytes: 16_384 })).rejects.toMatchObject({ retryable: false });
  });

  it('times out a server that never finishes, and reports an unreachable one as retryable', async () => {
    await expect(boundedGet(`${base}/hang`, { timeoutMs: 200 })).rejects.toMatchObject({ retryable: true });
    await expect(boundedGet('http://127.0.0.1:1/x', { timeoutMs: 1000 })).rejects.toMatchObject({ retryable: true });
  });
});
