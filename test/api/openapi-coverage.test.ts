import { loadApiSpec } from '../../src/app';
import { startHarness, type Harness } from '../support/harness';
import { routedOperations } from '../support/routes';

function specOperations(): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(loadApiSpec().paths)) {
    for (const method of Object.keys(item as object)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method))
        out.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
  }
  return out;
}

describe('openapi.yaml and the routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('every route is in the spec and every spec operation is routed', () => {
    const routed = routedOperations(h.app);
    const spec = specOperations();
    expect(routed.size).toBeGreaterThan(3);
    expect([...routed].filter((op) => !spec.has(op)).sort()).toEqual([]);
    expect([...spec].filter((op) => !routed.has(op)).sort()).toEqual([]);
  });

  it('the configured registration path replaces the spec path', () => {
    const spec = loadApiSpec('/aws/landing');
    expect(Object.keys(spec.paths)).toContain('/aws/landing');
    expect(Object.keys(spec.paths)).not.toContain('/marketplace/register');
  });
});
