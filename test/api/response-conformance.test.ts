import express from 'express';
import request from 'supertest';
import { responseConformance, type SpecViolation } from '../../routes/support/response-conformance';

/** The checker the harness relies on to fail a suite on an undeclared response: it must itself catch them. */
describe('response conformance to openapi.yaml', () => {
  const spec = {
    paths: {
      '/things/{id}': {
        get: {
          responses: {
            '200': { content: { 'application/json': {} } },
            '404': { $ref: '#/components/responses/Problem' },
            '303': { description: 'redirect' },
          },
        },
      },
    },
    components: { responses: { Problem: { content: { 'application/problem+json': {} } } } },
  };

  function app(violations: SpecViolation[]) {
    const a = express();
    a.use(responseConformance(spec, violations));
    a.get('/things/:id', (req, res) => {
      const id = req.params.id;
      if (id === 'ok') res.json({ ok: true });
      else if (id === 'missing') res.status(404).type('application/problem+json').send('{}');
      else if (id === 'html-error') res.status(404).type('html').send('<p>no</p>');
      else if (id === 'moved') res.redirect(303, '/elsewhere');
      else res.status(500).send('boom');
    });
    a.get('/unnamed', (_req, res) => res.status(418).send('tea'));
    return a;
  }

  it('accepts declared statuses and media types, redirects included', async () => {
    const v: SpecViolation[] = [];
    await request(app(v)).get('/things/ok');
    await request(app(v)).get('/things/missing');
    await request(app(v)).get('/things/moved');
    await request(app(v)).get('/unnamed'); // not a spec path: not checked
    expect(v).toEqual([]);
  });

  it('records an undeclared status and an undeclared media type', async () => {
    const v: SpecViolation[] = [];
    await request(app(v)).get('/things/crash');
    await request(app(v)).get('/things/html-error');
    expect(v).toEqual([
      expect.objectContaining({ path: '/things/crash', status: 500, problem: 'status 500 is not declared' }),
      expect.objectContaining({ path: '/things/html-error', status: 404, problem: 'text/html is not declared for status 404' }),
    ]);
  });
});
