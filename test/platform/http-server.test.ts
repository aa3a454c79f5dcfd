import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { listenHttp } from '../../src/platform/http-server';

/** Resolves with everything the server wrote once it closes the socket (or after `maxMs`, with `open: true`). */
function watch(socket: Socket, maxMs: number): Promise<{ data: string; open: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('utf8')));
    const timer = setTimeout(() => resolve({ data, open: true, ms: Date.now() - started }), maxMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, open: false, ms: Date.now() - started });
    });
    socket.on('error', () => undefined);
  });
}

describe('HTTP server limits', () => {
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  const open = () => {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await listenHttp((_req, res) => res.end('ok'), '127.0.0.1', 0, {
      headersTimeoutMs: 400,
      requestTimeoutMs: 800,
      keepAliveTimeoutMs: 300,
      maxConnections: 3,
    });
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers a normal request', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe('ok');
  });

  it('drops a client that sends its headers too slowly (408, closed)', async () => {
    const s = open();
    s.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => s.write('X-Slow: 1\r\n'), 100);
    const seen = await watch(s, 5_000);
    clearInterval(drip);
    expect(seen.open).toBe(false);
    expect(seen.data).toMatch(/^HTTP\/1\.1 408/);
    expect(seen.ms).toBeLessThan(3_000);
  });

  it('drops a client that sends its body too slowly', async () => {
    const s = open();
    s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
    const drip = setInterval(() => s.write('a'), 100);
    const seen = await watch(s, 5_000);
    clearInterval(drip);
    expect(seen.open).toBe(false);
    expect(seen.ms).toBeLessThan(3_500);
  });

  it('closes an idle keep-alive connection', async () => {
    const s = open();
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const seen = await watch(s, 5_000);
    expect(seen.data).toMatch(/^HTTP\/1\.1 200/);
    expect(seen.open).toBe(false);
    expect(seen.ms).toBeLessThan(2_500);
  });

  it('refuses connections beyond the cap', async () => {
    const held = [open(), open(), open()];
    await new Promise((r) => setTimeout(r, 100));
    const extra = open();
    const seen = await watch(extra, 2_000);
    expect(seen.open).toBe(false);
    expect(seen.data).toBe('');
    for (const s of held) s.destroy();
  });
});
