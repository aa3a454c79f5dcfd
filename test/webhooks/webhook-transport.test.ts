import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STRICT_POLICY } from '../../src/webhooks/address-policy';
import { createWebhookTransport, WebhookTransportError, type Resolver } from '../../src/webhooks/webhook-transport.gateway';
import { WebhookReceiver } from '../support/webhook-receiver';

const SIMULATOR = { allowLoopback: true, allowHttp: true };
const post = { headers: { 'webhook-id': 'evt_1' }, body: '{"ok":true}' };

async function refusal(promise: Promise<unknown>): Promise<WebhookTransportError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WebhookTransportError) return error;
    throw error;
  }
  throw new Error('the request was not refused');
}

/** Outbound safety of webhook POSTs: what aws mode refuses, checked after resolution, on every attempt. */
describe('webhook transport', () => {
  let receiver: WebhookReceiver;
  let port: number;
  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
    port = Number(new URL(receiver.url).port);
  });
  afterEach(async () => receiver.stop());

  it('delivers to loopback in simulator mode', async () => {
    const send = createWebhookTransport({ policy: SIMULATOR });
    const res = await send({ url: receiver.url, ...post });
    expect(res.status).toBe(200);
    expect(receiver.received[0]!.headers['webhook-id']).toBe('evt_1');
  });

  it('refuses http in aws mode, and https to a name that resolves to loopback', async () => {
    const send = createWebhookTransport({ policy: STRICT_POLICY });
    expect((await refusal(send({ url: receiver.url, ...post }))).message).toMatch(/https only/);
    const e = await refusal(send({ url: `https://localhost:${port}/hooks`, ...post }));
    expect(e.kind).toBe('refused');
    expect(e.message).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback address: refused/);
    expect(receiver.received).toHaveLength(0);
  });

  it.each([
    '2130706433',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '127.1',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '169.254.169.254',
    '[::ffff:169.254.169.254]',
    '[fd00:ec2::254]',
    '[fe80::1]',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.0.10',
    '100.64.0.1',
    '0.0.0.0',
    '[::]',
    '224.0.0.251',
  ])('refuses the literal address https://%s/ before connecting', async (host) => {
    const send = createWebhookTransport({ policy: STRICT_POLICY });
    const e = await refusal(send({ url: `https://${host}:${port}/hooks`, ...post }));
    expect(e.kind).toBe('refused');
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a name that resolves to a private, link-local or metadata address, or to any such address among others', async () => {
    const answers: Record<string, string[]> = {
      'internal.example.com': ['10.0.0.5'],
      'metadata.example.com': ['169.254.169.254'],
      'v6-metadata.example.com': ['fd00:ec2::254'],
      'cgnat.example.com': ['100.100.100.200'],
      'mixed.example.com': ['93.184.216.34', '192.168.1.1'],
      'mapped.example.com': ['::ffff:10.1.1.1'],
    };
    const resolve: Resolver = async (name) => (answers[name] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const send = createWebhookTransport({ policy: STRICT_POLICY, resolve });
    for (const name of Object.keys(answers)) {
      const e = await refusal(send({ url: `https://${name}:${port}/hooks`, ...post }));
      expect({ name, kind: e.kind, message: e.message }).toEqual({ name, kind: 'refused', message: expect.stringMatching(/: refused$/) });
    }
    expect(receiver.received).toHaveLength(0);
  });

  it('checks the resolved address on every attempt: a name rebound to the metadata address is refused the second time', async () => {
    let calls = 0;
    const resolve: Resolver = async () => [{ address: calls++ === 0 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
    const send = createWebhookTransport({ policy: SIMULATOR, resolve });
    expect((await send({ url: `http://rebind.example.com:${port}/hooks`, ...post })).status).toBe(200);
    const e = await refusal(send({ url: `http://rebind.example.com:${port}/hooks`, ...post }));
    expect(e.message).toMatch(/169\.254\.169\.254, a link-local address/);
    expect(calls).toBe(2);
    expect(receiver.received).toHaveLength(1);
  });

  it('returns a redirect as the answer without following it', async () => {
    const target = await new WebhookReceiver().start();
    try {
      receiver.set({ statusFor: () => 302, headers: { location: target.url } });
      const res = await createWebhookTransport({ policy: SIMULATOR })({ url: receiver.url, ...post });
      expect(res.status).toBe(302);
      expect(target.received).toHaveLength(0);
    } finally {
      await target.stop();
    }
  });

  describe('bounds', () => {
    let server: Server;
    let url: string;
    beforeEach(async () => {
      server = createServer((req, res) => {
        if (req.url === '/huge') {
          res.writeHead(200);
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const pump = () => {
            while (res.write(chunk));
          };
          res.on('drain', pump);
          pump();
        }
        // /silent: never answers
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('reads at most maxResponseBytes of an endless answer', async () => {
      const res = await createWebhookTransport({ policy: SIMULATOR, maxResponseBytes: 1000 })({ url: `${url}/huge`, ...post });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(1000);
    });

    it('gives up on an endpoint that never answers', async () => {
      const e = await refusal(createWebhookTransport({ policy: SIMULATOR, timeoutMs: 300 })({ url: `${url}/silent`, ...post }));
      expect(e.kind).toBe('timeout');
      expect(e.latencyMs).toBeGreaterThanOrEqual(250);
    });
  });
});
