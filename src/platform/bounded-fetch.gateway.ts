/**
 * Outbound HTTP GET with hard bounds, for fetches whose URL comes from a message (SNS signing
 * certificates, SubscribeURLs): a timeout, a cap on the bytes read, and no redirect followed (a
 * redirect could lead from an allow-listed host to any other).
 */

/** Limits of {@link boundedGet}. */
export interface BoundedGetOptions {
  /** Whole request, headers and body, ms. Default 5,000. */
  readonly timeoutMs?: number;
  /** Bytes of body read at most; a longer body is an error. Default 64 KiB. */
  readonly maxBytes?: number;
}

/** What came back. `status` is the HTTP status; a redirect is returned as such, never followed. */
export interface BoundedResponse {
  readonly status: number;
  readonly body: string;
}

/** A fetch that failed before an answer was complete (network, timeout, body too large). */
export class OutboundFetchError extends Error {
  constructor(
    message: string,
    /** False when trying again cannot help (the body is too large, a redirect). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'OutboundFetchError';
  }
}

/** An HTTP GET through `fetch`, bounded as {@link BoundedGetOptions} says. */
export type BoundedGet = (url: string, options?: BoundedGetOptions) => Promise<BoundedResponse>;

export const boundedGet: BoundedGet = async (url, options = {}) => {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
  } catch (error) {
    throw new OutboundFetchError(`request failed: ${describe(error)}`, true);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new OutboundFetchError(`answered a redirect (${response.status}); redirects are not followed`, false);
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new OutboundFetchError(`body of ${declared} bytes exceeds ${maxBytes}`, false);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array> | undefined;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new OutboundFetchError(`body exceeds ${maxBytes} bytes`, false);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof OutboundFetchError) throw error;
    throw new OutboundFetchError(`reading the body failed: ${describe(error)}`, true);
  }
  return { status: response.status, body: Buffer.concat(chunks).toString('utf8') };
};

function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${error.name === 'TimeoutError' ? 'timed out' : error.message}${code}`.slice(0, 200);
}
