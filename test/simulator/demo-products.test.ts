import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoProducts } from '../../src/products/product-config';
import { demoCatalogue } from '../../src/simulator/standalone';

const file = join(__dirname, '..', '..', 'src', 'demo-products.json');

describe('one demo catalogue for `npm start` and `npm run simulator` (src/demo-products.json)', () => {
  const catalogue = demoCatalogue(readFileSync(file, 'utf8'));

  it('the standalone simulator creates exactly the service demo products, with the same dimensions', () => {
    expect(catalogue.map((p) => [p.productCode, p.pricingModel, p.identity, p.dimensions.map((d) => d.name)])).toEqual(
      demoProducts.map((p) => [p.code, p.pricingModel, p.identity, p.dimensions.map((d) => d.name)]),
    );
  });

  it('holds a legacy customer-identifier subscription and a license contract with consumption (seats overage + api_calls)', () => {
    expect(demoProducts.find((p) => p.identity === 'customer-identifier')?.pricingModel).toBe('subscription');
    const contract = demoProducts.find((p) => p.identity === 'license')!;
    expect(contract.pricingModel).toBe('contract-with-consumption');
    expect(contract.dimensions.find((d) => d.name === 'seats')).toEqual(expect.objectContaining({ aggregation: 'overage' }));
    expect(contract.dimensions.find((d) => d.name === 'api_calls')).toEqual(expect.objectContaining({ aggregation: 'sum', metered: true }));
  });

  it.each([
    ['not a list', '{}'],
    ['a product without a code', '[{"pricingModel":"subscription","dimensions":[]}]'],
    ['an unknown pricing model', '[{"code":"x","pricingModel":"free","dimensions":[]}]'],
    ['an unknown identity', '[{"code":"x","pricingModel":"contract","identity":"email","dimensions":[]}]'],
    ['a dimension without a name', '[{"code":"x","pricingModel":"contract","dimensions":[{}]}]'],
  ])('refuses a catalogue that is %s', (_label, text) => {
    expect(() => demoCatalogue(text)).toThrow(/demo-products\.json/);
  });
});
