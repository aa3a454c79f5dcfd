/**
 * Local AWS Marketplace simulator: Metering, Entitlement Service, Agreement API and SQS over HTTP on loopback,
 * with SNS and EventBridge notification fan-out. Independent of the rest of `src/` (design §1).
 * See docs/simulator.md.
 */
import { LocalMarketplace } from './simulator';
import type { Simulator, SimulatorOptions } from './types';

export type * from './types';

/** Starts a simulator; the returned {@link Simulator.url} is the endpoint for every SDK client. */
export async function startSimulator(options?: SimulatorOptions): Promise<Simulator> {
  return LocalMarketplace.start(options);
}
