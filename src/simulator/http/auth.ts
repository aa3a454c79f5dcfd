import type { IncomingMessage } from 'node:http';
import { AwsError } from '../aws-error';

/** The parts of a SigV4 credential scope the simulator checks. */
export interface Credential {
  accessKeyId: string;
  region: string;
  service: string;
}

const SCOPE = /Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request/;

/**
 * Checks that an AWS call is SigV4-signed with the right scope. The signature itself is not
 * verified (any credentials work), but an unsigned call, or one scoped to the wrong service or
 * region, fails as it would on AWS: metering and entitlement sign as `aws-marketplace`
 * (§1.2, §2.1), SQS as `sqs` (§3.1).
 */
export function checkCredential(
  req: IncomingMessage,
  form: URLSearchParams | undefined,
  expectService: string,
  expectRegion: string,
  required: boolean,
): Credential {
  const header = req.headers.authorization;
  const fromQuery = form?.get('X-Amz-Credential');
  const match = header ? SCOPE.exec(header) : fromQuery ? SCOPE.exec(`Credential=${fromQuery}`) : null;
  if (!match) {
    if (!required) return { accessKeyId: 'anonymous', region: expectRegion, service: expectService };
    if (header)
      throw new AwsError(
        'IncompleteSignatureException',
        'Authorization header requires a Credential parameter of the form AKID/date/region/service/aws4_request.',
        403,
      );
    throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403, 'MissingAuthenticationToken');
  }
  const [, accessKeyId, , region, service] = match as unknown as [string, string, string, string, string];
  if (service !== expectService) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${expectService}'.`,
      403,
      'SignatureDoesNotMatch',
    );
  }
  if (region !== expectRegion) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${region}'. The simulator serves '${expectRegion}'.`,
      403,
      'SignatureDoesNotMatch',
    );
  }
  return { accessKeyId, region, service };
}
