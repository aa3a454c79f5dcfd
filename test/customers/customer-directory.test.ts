import type { Customer } from '../../src/customers/customer';
import { findOneCustomer } from '../../src/customers/customer-directory';
import type { CustomerRepository } from '../../src/customers/customer.repository';

const customer = (id: string, productCode: string) => ({ id, productCode }) as unknown as Customer;

/** A repository whose reference look-up answers from a fixed table. */
function repository(table: Record<string, Customer[]>): CustomerRepository {
  return { findByReference: async (ref: string) => table[ref] ?? [] } as unknown as CustomerRepository;
}

describe('findOneCustomer', () => {
  const repo = repository({
    'X01-buyer': [customer('c1', 'prod-a'), customer('c2', 'prod-b')],
    'arn:aws:license-manager::1:license:l-1': [customer('c3', 'prod-a')],
  });

  it('returns the one customer a reference names', async () => {
    await expect(findOneCustomer(repo, 'arn:aws:license-manager::1:license:l-1')).resolves.toMatchObject({ id: 'c3' });
    await expect(findOneCustomer(repo, 'X01-buyer', 'prod-b')).resolves.toMatchObject({ id: 'c2' });
  });

  it('is 404 unknown_customer for nobody, naming the product when one was given', async () => {
    await expect(findOneCustomer(repo, 'nobody')).rejects.toMatchObject({ code: 'unknown_customer', httpStatus: 404 });
    await expect(findOneCustomer(repo, 'X01-buyer', 'prod-c')).rejects.toMatchObject({
      code: 'unknown_customer',
      message: expect.stringMatching(/for product prod-c/),
    });
  });

  it('is 409 ambiguous_customer with the products when a reference names several', async () => {
    await expect(findOneCustomer(repo, 'X01-buyer')).rejects.toMatchObject({
      code: 'ambiguous_customer',
      httpStatus: 409,
      details: { productCodes: ['prod-a', 'prod-b'] },
    });
  });

  it('never echoes more than 80 characters of the reference', async () => {
    const long = 'y'.repeat(500);
    const error = (await findOneCustomer(repo, long).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain('y'.repeat(81));
  });
});
