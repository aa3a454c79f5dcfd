import { AppError } from '../platform/errors';
import type { Customer } from './customer';
import type { CustomerRepository } from './customer.repository';

/**
 * The one customer a seller's reference names: our id, a LicenseArn, a CustomerIdentifier or the
 * app's external id; `product` narrows a reference that names customers of several products.
 * 404 `unknown_customer`, 409 `ambiguous_customer`.
 */
export async function findOneCustomer(customers: CustomerRepository, ref: string, product?: string): Promise<Customer> {
  const found = (await customers.findByReference(ref)).filter((c) => product === undefined || c.productCode === product);
  if (found.length === 0) {
    throw new AppError(`No customer is known as "${ref.slice(0, 80)}"${product ? ` for product ${product}` : ''}.`, {
      code: 'unknown_customer',
      httpStatus: 404,
    });
  }
  if (found.length > 1) {
    throw new AppError(
      `"${ref.slice(0, 80)}" names customers of several products; add product=, or send our customer id or the LicenseArn.`,
      {
        code: 'ambiguous_customer',
        httpStatus: 409,
        details: { productCodes: found.map((c) => c.productCode) },
      },
    );
  }
  return found[0]!;
}
