import { systemClock } from '../../src/platform/clock';
import { LeaseRepository } from '../../src/store/lease.repository';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

describeDialects('LeaseRepository (%s)', (dialect) => {
  let t: TestStore;
  let leases: LeaseRepository;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    leases = new LeaseRepository(t.store.db, t.store.dialect, systemClock);
  });
  afterAll(async () => t.dispose());

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('one holder at a time; the holder renews; a release hands it over and the fencing number grows', async () => {
    expect(await leases.acquire('a', 'one', 10_000)).toBe(true);
    expect(await leases.acquire('a', 'two', 10_000)).toBe(false);
    expect(await leases.renew('a', 'two', 10_000)).toBe(false);
    expect(await leases.renew('a', 'one', 10_000)).toBe(true);
    expect(await leases.acquire('a', 'one', 10_000)).toBe(true);
    const first = await leases.current('a');
    expect(first).toMatchObject({ holder: 'one', fencing: 1 });
    await leases.release('a', 'two'); // not the holder: no effect
    expect(await leases.acquire('a', 'two', 10_000)).toBe(false);
    await leases.release('a', 'one');
    expect(await leases.acquire('a', 'two', 10_000)).toBe(true);
    expect(await leases.current('a')).toMatchObject({ holder: 'two', fencing: 2 });
  });

  it('an expired lease is taken over, and the old holder can no longer renew it', async () => {
    expect(await leases.acquire('b', 'one', 150)).toBe(true);
    expect(await leases.acquire('b', 'two', 10_000)).toBe(false);
    await sleep(300);
    expect(await leases.renew('b', 'one', 10_000)).toBe(false);
    expect(await leases.acquire('b', 'two', 10_000)).toBe(true);
    expect(await leases.renew('b', 'one', 10_000)).toBe(false);
    expect(await leases.acquire('b', 'one', 10_000)).toBe(false);
  });

  it('of many instances racing for a free lease, exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => leases.acquire('c', `i${i}`, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const holder = (await leases.current('c'))!.holder;
    expect(results[Number(holder.slice(1))]).toBe(true);
  });

  it('leases are independent by name', async () => {
    expect(await leases.acquire('d1', 'one', 10_000)).toBe(true);
    expect(await leases.acquire('d2', 'two', 10_000)).toBe(true);
  });
});
