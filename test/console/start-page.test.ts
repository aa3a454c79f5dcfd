import request from 'supertest';
import { renderStartPage } from '../../routes/views/admin-start-page';
import { parse as parseYaml } from 'yaml';
import { startHarness, type Harness } from '../support/harness';

describe('the start page and the served spec', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('in aws mode, / says only that the service runs: no simulator link, no key', async () => {
    const res = await request(h.app).get('/');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/html');
    expect(res.text).toContain('This service is running.');
    expect(res.text).not.toContain('simulator');
    expect(res.text).not.toContain('local-dev-api-key');
  });

  it('/openapi.yaml is the specification with the configured registration path', async () => {
    const res = await request(h.app).get('/openapi.yaml');
    expect(res.status).toBe(200);
    const spec = parseYaml(res.text) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/', '/metrics', h.config.registration.path]));
  });
});

describe('the start page in simulator mode', () => {
  it('links the console and names the key that signs in to it', () => {
    const page = renderStartPage(
      { name: 'Seller Co', supportEmail: 'help@seller.example' },
      { mode: 'simulator', simulatorUrl: 'http://127.0.0.1:4599/simulator', localApiKey: 'local-dev-api-key-change-me' },
    );
    expect(page).toContain('<a href="/admin">The seller console</a>');
    expect(page).toContain('local-dev-api-key-change-me');
  });
});
