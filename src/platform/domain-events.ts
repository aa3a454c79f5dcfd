/**
 * In-process domain events: what happened to a customer, for the parts that react to it
 * (the metering flush, webhooks). Emitted only after the change is committed; a listener that
 * misses one (crash) finds the same fact in the store on its next pass, so nothing depends on
 * delivery.
 */
export type DomainEvent =
  | { readonly type: 'customer-activated'; readonly customerId: string }
  | { readonly type: 'final-window-opened'; readonly customerId: string }
  | { readonly type: 'customer-ended'; readonly customerId: string }
  | { readonly type: 'customer-failed'; readonly customerId: string }
  | { readonly type: 'entitlements-changed'; readonly customerId: string };

export type DomainEventListener = (event: DomainEvent) => void | Promise<void>;

export class DomainEventBus {
  private readonly listeners = new Set<DomainEventListener>();

  constructor(private readonly onListenerError: (error: unknown, event: DomainEvent) => void = () => undefined) {}

  subscribe(listener: DomainEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls every listener; a failing listener is reported and does not stop the others. */
  async publish(event: DomainEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
