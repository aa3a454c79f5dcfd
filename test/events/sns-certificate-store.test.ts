import { SnsCertificateStore, type CertificateFetch } from '../../src/events/sns-certificate-store';
import { ManualClock } from '../../src/platform/clock';
import { OutboundFetchError } from '../../src/platform/bounded-fetch.gateway';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});

const url = (c: string) => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${c.repeat(32).slice(0, 32)}.pem`;

/** A fetcher that records each URL and answers what `answer` says (after `delayMs` of real time). */
function fetcher(answer: (u: string) => Promise<{ status: number; body: string }>) {
  const calls: string[] = [];
  const fetchPem: CertificateFetch = async (u) => {
    calls.push(u);
    return answer(u);
  };
  return { calls, fetchPem };
}

describe('SnsCertificateStore', () => {
  it('caches good certificates (LRU, bounded)', async () => {
    const { calls, fetchPem } = fetcher(async () => ({ status: 200, body: certs.leaf }));
    const store = new SnsCertificateStore(fetchPem, new ManualClock(new Date(Date.now() + 60_000)), {
      cacheSize: 2,
      fetchesPerMinute: 100,
    });
    for (const u of [url('a'), url('a'), url('b'), url('a'), url('c'), url('a'), url('b')]) {
      await expect(store.get(u, 'aws')).resolves.toMatchObject({ ok: true });
    }
    // a: fetched once (kept hot); b evicted by c, fetched again
    expect(calls).toEqual([url('a'), url('b'), url('c'), url('b')]);
  });

  it('remembers a failure briefly, then fetches again', async () => {
    let n = 0;
    const { calls, fetchPem } = fetcher(async () => {
      if (++n === 1) throw new OutboundFetchError('request failed: ECONNRESET', true);
      return { status: 200, body: certs.leaf };
    });
    const clock = new ManualClock(new Date(Date.now() + 60_000));
    const store = new SnsCertificateStore(fetchPem, clock, { failureTtlMs: 60_000 });
    await expect(store.get(url('a'), 'aws')).resolves.toMatchObject({
      ok: false,
      retryable: true,
      reason: expect.stringMatching(/ECONNRESET/),
    });
    await expect(store.get(url('a'), 'aws')).resolves.toMatchObject({ ok: false, retryable: true });
    expect(calls).toHaveLength(1);
    clock.advance(61_000);
    await expect(store.get(url('a'), 'aws')).resolves.toMatchObject({ ok: true });
    expect(calls).toHaveLength(2);
  });

  it('tells a bogus URL (4xx, redirect, oversized, not a certificate) from an outage (5xx, network)', async () => {
    const clock = new ManualClock(new Date(Date.now() + 60_000));
    const answers: Record<string, () => Promise<{ status: number; body: string }>> = {
      [url('1')]: async () => ({ status: 404, body: '<Error/>' }),
      [url('2')]: async () => {
        throw new OutboundFetchError('answered a redirect (302); redirects are not followed', false);
      },
      [url('3')]: async () => {
        throw new OutboundFetchError('body exceeds 16384 bytes', false);
      },
      [url('4')]: async () => ({ status: 200, body: 'hello' }),
      [url('5')]: async () => ({ status: 503, body: '' }),
      [url('6')]: async () => {
        throw new OutboundFetchError('request failed: timed out', true);
      },
    };
    const store = new SnsCertificateStore(async (u) => answers[u]!(), clock, { fetchesPerMinute: 100, maxConcurrentFetches: 10 });
    const retryable = await Promise.all(
      ['1', '2', '3', '4', '5', '6'].map(async (c) => ((await store.get(url(c), 'aws')) as { retryable: boolean }).retryable),
    );
    expect(retryable).toEqual([false, false, false, false, true, true]);
  });

  it('refuses an expired cached certificate and fetches it again', async () => {
    const { calls, fetchPem } = fetcher(async () => ({ status: 200, body: certs.leaf }));
    const clock = new ManualClock(new Date(Date.now() + 60_000));
    const store = new SnsCertificateStore(fetchPem, clock);
    await expect(store.get(url('a'), 'aws')).resolves.toMatchObject({ ok: true });
    clock.set('2200-01-01T00:00:00Z');
    await expect(store.get(url('a'), 'aws')).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/validity/) });
    expect(calls).toHaveLength(2);
  });

  it('100 forged messages naming distinct URLs on an AWS host cost a bounded number of fetches', async () => {
    const { calls, fetchPem } = fetcher(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { status: 404, body: 'NoSuchKey' };
    });
    const clock = new ManualClock(new Date(Date.now() + 60_000));
    const store = new SnsCertificateStore(fetchPem, clock);
    const forged = Array.from({ length: 100 }, (_, i) => url(i.toString(16).padStart(2, '0')));
    // All at once, then one after another: neither exceeds the per-minute budget.
    const burst = await Promise.all(forged.slice(0, 50).map((u) => store.get(u, 'aws')));
    for (const u of forged.slice(50)) await store.get(u, 'aws');
    expect(burst.every((r) => !r.ok)).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(6);
    // A minute later the budget is back, so the real certificate URL still gets through.
    clock.advance(60_000);
    const real = fetcher(async () => ({ status: 200, body: certs.leaf }));
    const fresh = new SnsCertificateStore(real.fetchPem, clock);
    await expect(fresh.get(url('f'), 'aws')).resolves.toMatchObject({ ok: true });
  });

  it('fetches one URL once however many messages wait for it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const { calls, fetchPem } = fetcher(async () => {
      await gate;
      return { status: 200, body: certs.leaf };
    });
    const store = new SnsCertificateStore(fetchPem, new ManualClock(new Date(Date.now() + 60_000)));
    const waiting = Array.from({ length: 20 }, () => store.get(url('a'), 'aws'));
    release();
    const results = await Promise.all(waiting);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toEqual([url('a')]);
  });

  it('never runs more than maxConcurrentFetches at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const store = new SnsCertificateStore(
      async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
        return { status: 200, body: certs.leaf };
      },
      new ManualClock(new Date(Date.now() + 60_000)),
      { maxConcurrentFetches: 2, fetchesPerMinute: 100 },
    );
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((c) => store.get(url(c), 'aws')));
    expect(peak).toBe(2);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.retryable)).toBe(true);
  });
});
