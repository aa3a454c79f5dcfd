import {
  BatchMeterUsageCommand,
  MarketplaceMeteringClient,
  RegisterUsageCommand,
  ResolveCustomerCommand,
} from '@aws-sdk/client-marketplace-metering';
import { GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { activeSubscription, credentials, drain, errorOf, legacyProduct, startKit, type TestKit } from './support';

describe('quotas (facts §6: BatchMeterUsage 10/s, RegisterUsage 5/s, GetEntitlements 20/s)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ quotas: { batchMeterUsage: 10, meterUsage: 10, registerUsage: 5, getEntitlements: 20 } });
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  it('throttles the 11th BatchMeterUsage call within a second with ThrottlingException', async () => {
    const calls = Array.from({ length: 12 }, () =>
      kit.metering.send(new BatchMeterUsageCommand({ ProductCode: 'legacy-product', UsageRecords: [] })).then(
        () => 'ok',
        (e: Error) => e.name,
      ),
    );
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'ThrottlingException')).toHaveLength(2);
    expect(kit.sim.meteringLog().filter((e) => e.outcome === 'ThrottlingException')).toHaveLength(2);
  });

  it('throttles the 6th RegisterUsage call within a second with ThrottlingException', async () => {
    await activeSubscription(kit.sim, 'legacy-product');
    const outcomes = await Promise.all(
      Array.from({ length: 7 }, () =>
        kit.metering.send(new RegisterUsageCommand({ ProductCode: 'legacy-product', PublicKeyVersion: 1 })).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'ThrottlingException')).toHaveLength(2);
    expect(kit.sim.meteringLog().filter((e) => e.operation === 'RegisterUsage' && e.outcome === 'ThrottlingException')).toHaveLength(2);
  });

  it('throttles the 21st GetEntitlements call within a second', async () => {
    const calls = Array.from({ length: 22 }, () =>
      kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'legacy-product' })).then(
        () => 'ok',
        (e: Error) => e.name,
      ),
    );
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'ThrottlingException')).toHaveLength(2);
  });
});

describe('injected faults (setFaults)', () => {
  let kit: TestKit;
  let retrying: MarketplaceMeteringClient;
  let customer: string;
  beforeAll(async () => {
    kit = await startKit();
    legacyProduct(kit.sim);
    customer = (await activeSubscription(kit.sim, 'legacy-product')).customerIdentifier!;
    retrying = new MarketplaceMeteringClient({ endpoint: kit.sim.url, region: 'us-east-1', credentials, maxAttempts: 3 });
  });
  afterEach(() => kit.sim.setFaults({}));
  afterAll(async () => {
    retrying.destroy();
    await kit.close();
  });
  const batch = (client = kit.metering, quantity = 1) =>
    client.send(
      new BatchMeterUsageCommand({
        ProductCode: 'legacy-product',
        UsageRecords: [{ Timestamp: kit.clock.date(), Dimension: 'users', Quantity: quantity, CustomerIdentifier: customer }],
      }),
    );

  it('failNext ThrottlingException: the SDK default retry recovers on the second attempt', async () => {
    kit.sim.setFaults({ failNext: [{ operation: 'BatchMeterUsage', error: 'ThrottlingException', count: 1 }] });
    const out = await batch(retrying);
    expect(out.Results![0]!.Status).toBe('Success');
    expect(out.$metadata.attempts).toBe(2);
  });

  it('failNext InternalServiceErrorException: HTTP 500, $fault server', async () => {
    kit.sim.setFaults({ failNext: [{ operation: 'BatchMeterUsage', error: 'InternalServiceErrorException', count: 1 }] });
    const err = await errorOf(batch());
    expect(err.name).toBe('InternalServiceErrorException');
    expect(err.$fault).toBe('server');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    await expect(batch()).resolves.toBeDefined(); // count consumed
  });

  it('failNext drop: the socket is destroyed without an answer; the SDK retries it as a network error', async () => {
    kit.sim.setFaults({ failNext: [{ operation: 'ResolveCustomer', error: 'drop', count: 1 }] });
    const err = await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: 'x' })));
    expect(err.name).not.toBe('InvalidTokenException');
    expect(err.message).toMatch(/socket hang up|ECONNRESET/);
    kit.sim.setFaults({ failNext: [{ operation: 'ResolveCustomer', error: 'drop', count: 1 }] });
    const retried = await errorOf(retrying.send(new ResolveCustomerCommand({ RegistrationToken: 'x' })));
    expect(retried.name).toBe('InvalidTokenException');
    expect(retried.$metadata?.attempts).toBe(2);
  });

  it('failNext unprocessed: every record comes back in UnprocessedRecords and is not billed; resubmitting succeeds', async () => {
    kit.clock.advance(3_600_000);
    kit.sim.setFaults({ failNext: [{ operation: 'BatchMeterUsage', error: 'unprocessed', count: 1 }] });
    const first = await batch(kit.metering, 6);
    expect(first.Results).toEqual([]);
    expect(first.UnprocessedRecords).toEqual([expect.objectContaining({ Dimension: 'users', Quantity: 6, CustomerIdentifier: customer })]);
    expect(kit.sim.billed({ customer }).filter((b) => b.quantity === 6)).toHaveLength(0);
    const again = await kit.metering.send(
      new BatchMeterUsageCommand({ ProductCode: 'legacy-product', UsageRecords: first.UnprocessedRecords }),
    );
    expect(again.Results![0]!.Status).toBe('Success');
  });

  it('unprocessedRate is reproducible for a given seed', async () => {
    const subs = await Promise.all(Array.from({ length: 20 }, () => activeSubscription(kit.sim, 'legacy-product')));
    const records = () =>
      subs.map((s) => ({ Timestamp: kit.clock.date(), Dimension: 'storage', Quantity: 1, CustomerIdentifier: s.customerIdentifier }));
    const pattern = async () => {
      kit.sim.setFaults({ seed: 42, operations: { BatchMeterUsage: { unprocessedRate: 0.5 } } });
      const out = await kit.metering.send(new BatchMeterUsageCommand({ ProductCode: 'legacy-product', UsageRecords: records() }));
      return out.UnprocessedRecords!.map((r) => r.CustomerIdentifier).join(',');
    };
    const a = await pattern();
    kit.clock.advance(3_600_000);
    const b = await pattern();
    expect(a).toBe(b);
    expect(a.split(',').length).toBeGreaterThan(2);
    expect(a.split(',').length).toBeLessThan(18);
  });

  it("throttleRate on '*' applies to every operation; SQS answers RequestThrottled (403)", async () => {
    kit.sim.setFaults({ operations: { '*': { throttleRate: 1 } } });
    expect((await errorOf(batch())).name).toBe('ThrottlingException');
    const sqsErr = await errorOf(kit.sqs.send(new GetQueueUrlCommand({ QueueName: 'marketplace-subscription' })));
    expect(sqsErr.name).toBe('RequestThrottled');
    expect(sqsErr.$metadata?.httpStatusCode).toBe(403);
  });

  it('serverErrorRate and dropConnectionRate of 1 fail every call of that operation only', async () => {
    kit.sim.setFaults({ operations: { GetEntitlements: { serverErrorRate: 1 }, ResolveCustomer: { dropConnectionRate: 1 } } });
    expect((await errorOf(kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'legacy-product' })))).name).toBe(
      'InternalServiceErrorException',
    );
    expect((await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: 'x' })))).message).toMatch(
      /socket hang up|ECONNRESET/,
    );
    await expect(batch()).resolves.toBeDefined();
  });

  it('latencyMs delays the answer', async () => {
    kit.sim.setFaults({ operations: { GetEntitlements: { latencyMs: 300 } } });
    const started = Date.now();
    await kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'legacy-product' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('duplicateRate 1 delivers every notification twice with the same MessageId', async () => {
    await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'));
    kit.sim.setFaults({ duplicateRate: 1 });
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    const msgs = await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'));
    expect(msgs).toHaveLength(2);
    expect(msgs[0]!.MessageId).not.toBe(msgs[1]!.MessageId); // two SQS messages…
    expect(JSON.parse(msgs[0]!.Body!).MessageId).toBe(JSON.parse(msgs[1]!.Body!).MessageId); // …of one SNS message
  });

  it('reorderWindowMs holds notifications, then delivers all of them in a shuffled order', async () => {
    const queue = kit.sim.queueUrl('marketplace-subscription');
    await drain(kit.sqs, queue);
    kit.sim.setFaults({ seed: 7, reorderWindowMs: 100 });
    const subs = [];
    for (let i = 0; i < 6; i++) {
      const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
      await kit.sim.confirm(s.id);
      subs.push(s.customerIdentifier);
    }
    expect(await drain(kit.sqs, queue)).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    const order = (await drain(kit.sqs, queue)).map((m) => JSON.parse(JSON.parse(m.Body!).Message)['customer-identifier'] as string);
    expect([...order].sort()).toEqual([...subs].sort());
    expect(order).not.toEqual(subs);
  });
});
