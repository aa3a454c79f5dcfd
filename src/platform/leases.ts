/**
 * Named leases, so that one instance at a time runs a given piece of work (implemented over the
 * store by `src/store/lease.repository.ts`).
 */
export interface LeaseStore {
  /** Takes or extends the lease for `ttlMs`; true when `holder` holds it afterwards. */
  acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease only while `holder` still holds it, unexpired; false when it was lost. */
  renew(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  release(name: string, holder: string): Promise<void>;
}
