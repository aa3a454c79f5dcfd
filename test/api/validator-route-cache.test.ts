import { createRequire } from 'node:module';
import request from 'supertest';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';

/** The route-pattern compiler exactly as the validator resolves it (not a copy of our own). */
const validatorPathToRegexp = createRequire(require.resolve('express-openapi-validator'))('path-to-regexp') as {
  pathToRegexp: (...args: unknown[]) => unknown;
};

/**
 * The request validator finds a request's operation by matching its path against every route of
 * the spec. Compiling those matchers once (patches/express-openapi-validator+*.patch, applied on
 * install) rather than on every request keeps that look-up off the per-request cost: once warm, a
 * request compiles no route pattern at all. Fails if the patch is lost, e.g. on a version bump.
 */
describe('request validator route look-up', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('compiles no route pattern per request once warm', async () => {
    const paths = ['/healthz', '/v1/access?customer=nobody&product=nothing', '/v1/customers/nobody'];
    for (const path of paths) await request(h.app).get(path).set('authorization', `Bearer ${TEST_API_KEY}`);
    const compile = jest.spyOn(validatorPathToRegexp, 'pathToRegexp');
    try {
      for (let i = 0; i < 3; i++)
        for (const path of paths) {
          const res = await request(h.app).get(path).set('authorization', `Bearer ${TEST_API_KEY}`);
          expect(res.status).toBeLessThan(500);
        }
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });
});
