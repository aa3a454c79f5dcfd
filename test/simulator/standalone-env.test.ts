import { optionsFromEnv } from '../../src/simulator/standalone';

describe('`npm run simulator` options from the environment (SIMULATOR_QUOTAS, SIMULATOR_CLOCK_OFFSET_MS)', () => {
  it('sets nothing when neither is given, so the defaults (AWS quotas, real time) apply', () => {
    expect(optionsFromEnv({})).toEqual({});
    expect(optionsFromEnv({ SIMULATOR_QUOTAS: ' ', SIMULATOR_CLOCK_OFFSET_MS: '' })).toEqual({});
  });

  it('reads calls per second per operation; 0 turns a quota off', () => {
    expect(optionsFromEnv({ SIMULATOR_QUOTAS: 'batchMeterUsage=100, getEntitlements=0' }).quotas).toEqual({
      batchMeterUsage: 100,
      getEntitlements: 0,
    });
  });

  it.each([
    'batchMeterUsage',
    'batchMeterUsage=',
    'batchMeterUsage=fast',
    'batchMeterUsage=-1',
    'batchMeterUsage=1=2',
    'describeAgreement=5',
  ])('refuses SIMULATOR_QUOTAS=%s', (value) => {
    expect(() => optionsFromEnv({ SIMULATOR_QUOTAS: value })).toThrow(/SIMULATOR_QUOTAS/);
  });

  it('starts the simulator clock the given offset from real time', () => {
    const now = optionsFromEnv({ SIMULATOR_CLOCK_OFFSET_MS: '-7200000' }).now!;
    expect(Math.abs(now() - (Date.now() - 7_200_000))).toBeLessThan(1000);
    expect(() => optionsFromEnv({ SIMULATOR_CLOCK_OFFSET_MS: 'two hours' })).toThrow(/SIMULATOR_CLOCK_OFFSET_MS/);
  });
});
