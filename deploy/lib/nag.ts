import type { PolicyViolation } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag's AwsSolutions findings in a construct tree that no `Validations.of(…).acknowledge()`
 * covers, errors and warnings alike (cdk-nag 3 checks through CDK's validation API; each
 * acknowledgment in deploy/lib carries its reason).
 */
export function unacknowledgedNagFindings(scope: IConstruct): PolicyViolation[] {
  return [...new AwsSolutionsChecks().validateScope(scope).violations];
}

/** One line per finding and resource, for a report. */
export function describeFindings(findings: readonly PolicyViolation[]): string[] {
  return findings.flatMap((f) =>
    f.violatingResources.map((r) => `${f.severity ?? 'error'} ${f.ruleName} at ${r.constructPath}: ${f.description}`),
  );
}
