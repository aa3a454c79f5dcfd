import { awsErrorFacts } from './sdk-errors';
import type { AwsClients } from './clients';

/** How an AWS call ended: answered, throttled, a 5xx, another 4xx, or no answer at all. */
export type AwsCallOutcome = 'success' | 'throttled' | 'server_error' | 'client_error' | 'network_error';

export type AwsCallListener = (service: string, operation: string, outcome: AwsCallOutcome) => void;

/** Reads an SDK error (after the SDK's own retries) as one outcome. */
export function awsCallOutcome(error: unknown): Exclude<AwsCallOutcome, 'success'> {
  const facts = awsErrorFacts(error);
  if (facts.kind === 'throttled') return 'throttled';
  if (facts.httpStatus !== undefined && facts.httpStatus >= 500) return 'server_error';
  if (facts.httpStatus === undefined && facts.kind === 'transient') return 'network_error';
  return 'client_error';
}

/**
 * Adds a middleware to every client that tells `listener` how each call ended (once per call, after
 * the SDK's retries). Calls carry on unchanged; a listener that throws is ignored.
 */
export function observeAwsCalls(clients: AwsClients, listener: AwsCallListener): void {
  const observe = (service: string) => {
    const tell = (operation: string, outcome: AwsCallOutcome) => {
      try {
        listener(service, operation, outcome);
      } catch {
        // Counting must never break a call.
      }
    };
    return <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) =>
      async (args: A): Promise<R> => {
        const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
        try {
          const result = await next(args);
          tell(operation, 'success');
          return result;
        } catch (error) {
          tell(operation, awsCallOutcome(error));
          throw error;
        }
      };
  };
  const options = { step: 'initialize' as const, tags: ['METRICS'] };
  clients.metering.middlewareStack.add(observe('metering'), options);
  clients.entitlement.middlewareStack.add(observe('entitlement'), options);
  clients.sqs.middlewareStack.add(observe('sqs'), options);
}
