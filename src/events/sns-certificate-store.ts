import type { X509Certificate } from 'node:crypto';
import type { Clock } from '../platform/clock';
import type { BoundedResponse } from '../platform/bounded-fetch.gateway';
import { checkSigningCertificate, type CertificateOrigin } from './sns-trust';

/** Limits of {@link SnsCertificateStore}; every member has a default. */
export interface CertificateStoreLimits {
  /** Good certificates kept (least recently used evicted). Default 50: AWS uses one URL per region for months. */
  readonly cacheSize?: number;
  /** How long a failed URL is refused without a new fetch, ms. Default 60,000. */
  readonly failureTtlMs?: number;
  /** Failed URLs remembered at most. Default 1,000. */
  readonly failureCacheSize?: number;
  /** Fetches in flight at once. Default 2. */
  readonly maxConcurrentFetches?: number;
  /** New fetches allowed per minute (a token bucket of this size, refilled over a minute). Default 6. */
  readonly fetchesPerMinute?: number;
  /** Bytes read from a certificate URL at most. Default 16 KiB (a certificate is about 2 KB). */
  readonly maxBytes?: number;
  /** Timeout of one fetch, ms. Default 5,000. */
  readonly timeoutMs?: number;
}

/** A usable certificate, or why not; `retryable` when the same message may pass later (SNS retries). */
export type CertificateResult = { ok: true; certificate: X509Certificate } | { ok: false; reason: string; retryable: boolean };

/** Fetches a URL that passed the allow-list; bounded and without redirects (see `boundedGet`). */
export type CertificateFetch = (url: string, limits: { timeoutMs: number; maxBytes: number }) => Promise<BoundedResponse>;

/**
 * Signing certificates by URL (facts §4.3), fetched only for URLs that passed the allow-list.
 * A flood of forged messages naming fresh URLs on an AWS host costs at most a few fetches: good
 * certificates are cached (LRU), failures are remembered briefly, one URL is fetched once at a
 * time, at most `maxConcurrentFetches` fetches run at once and at most `fetchesPerMinute` start
 * per minute; beyond that a message is refused as retryable without any fetch.
 */
export class SnsCertificateStore {
  private readonly good = new Map<string, X509Certificate>();
  private readonly failed = new Map<string, { until: number; reason: string; retryable: boolean }>();
  private readonly pending = new Map<string, Promise<CertificateResult>>();
  private readonly limits: Required<CertificateStoreLimits>;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly fetchPem: CertificateFetch,
    private readonly clock: Clock,
    limits: CertificateStoreLimits = {},
  ) {
    this.limits = {
      cacheSize: limits.cacheSize ?? 50,
      failureTtlMs: limits.failureTtlMs ?? 60_000,
      failureCacheSize: limits.failureCacheSize ?? 1_000,
      maxConcurrentFetches: limits.maxConcurrentFetches ?? 2,
      fetchesPerMinute: limits.fetchesPerMinute ?? 6,
      maxBytes: limits.maxBytes ?? 16 * 1024,
      timeoutMs: limits.timeoutMs ?? 5_000,
    };
    this.tokens = this.limits.fetchesPerMinute;
    this.refilledAt = clock.now().getTime();
  }

  /** The certificate at `url` (from `origin`), checked as `checkSigningCertificate` says. */
  async get(url: string, origin: CertificateOrigin): Promise<CertificateResult> {
    const now = this.clock.now();
    const hit = this.good.get(url);
    if (hit) {
      // A cached certificate still has to be within its dates today.
      if (now.getTime() <= Date.parse(hit.validTo)) {
        this.good.delete(url);
        this.good.set(url, hit);
        return { ok: true, certificate: hit };
      }
      this.good.delete(url);
    }
    const failure = this.failed.get(url);
    if (failure && failure.until > now.getTime()) return { ok: false, reason: failure.reason, retryable: failure.retryable };
    const inFlight = this.pending.get(url);
    if (inFlight) return inFlight;
    if (this.pending.size >= this.limits.maxConcurrentFetches) {
      return { ok: false, reason: 'too many signing certificates being fetched at once; try again', retryable: true };
    }
    if (!this.takeToken(now.getTime())) {
      return { ok: false, reason: 'too many new signing certificate URLs in the last minute; try again', retryable: true };
    }
    const fetching = this.fetchAndCheck(url, origin).finally(() => this.pending.delete(url));
    this.pending.set(url, fetching);
    return fetching;
  }

  private async fetchAndCheck(url: string, origin: CertificateOrigin): Promise<CertificateResult> {
    let result: CertificateResult;
    try {
      const response = await this.fetchPem(url, { timeoutMs: this.limits.timeoutMs, maxBytes: this.limits.maxBytes });
      if (response.status !== 200) {
        // 4xx: no certificate at that URL (a forged name); 5xx: AWS had a problem, SNS retries.
        result = { ok: false, reason: `certificate URL answered ${response.status}`, retryable: response.status >= 500 };
      } else {
        const checked = checkSigningCertificate(response.body, origin, this.clock.now());
        result = checked.ok ? checked : { ok: false, reason: `invalid signing certificate: ${checked.reason}`, retryable: false };
      }
    } catch (error) {
      const retryable = (error as { retryable?: unknown }).retryable !== false;
      result = { ok: false, reason: `could not fetch signing certificate: ${error instanceof Error ? error.message : 'error'}`, retryable };
    }
    if (result.ok) {
      this.good.set(url, result.certificate);
      this.failed.delete(url);
      while (this.good.size > this.limits.cacheSize) this.good.delete(this.good.keys().next().value as string);
    } else {
      this.failed.set(url, {
        until: this.clock.now().getTime() + this.limits.failureTtlMs,
        reason: result.reason,
        retryable: result.retryable,
      });
      while (this.failed.size > this.limits.failureCacheSize) this.failed.delete(this.failed.keys().next().value as string);
    }
    return result;
  }

  /** Token bucket: `fetchesPerMinute` tokens, refilled continuously over a minute. */
  private takeToken(nowMs: number): boolean {
    const rate = this.limits.fetchesPerMinute / 60_000;
    this.tokens = Math.min(this.limits.fetchesPerMinute, this.tokens + Math.max(0, nowMs - this.refilledAt) * rate);
    this.refilledAt = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
