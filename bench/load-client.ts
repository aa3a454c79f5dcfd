/**
 * The load generator of the HTTP benchmark, run in its own process so it does not share the
 * event loop of the servers it measures. Reads one JSON spec argument, drives it with autocannon
 * and prints `{"requestsPerSecond": n, "errors": n, "non2xx": n, "p99Ms": n}`.
 *
 * Spec: { url, method, headers, durationSeconds, connections, body?: "usage" } — `usage` sends one
 * usage record per request with a fresh idempotency key (`customer` and `dimension` from the spec).
 */
import autocannon from 'autocannon';

interface Spec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  durationSeconds: number;
  connections: number;
  usage?: { customer: string; dimension: string };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
  let seq = 0;
  const prefix = `${process.pid}-${Date.now()}`;
  const result = await autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    duration: spec.durationSeconds,
    connections: spec.connections,
    requests: [
      {
        setupRequest: (req) =>
          spec.usage
            ? {
                ...req,
                body: JSON.stringify({
                  records: [
                    {
                      customer: spec.usage.customer,
                      dimension: spec.usage.dimension,
                      quantity: 1,
                      timestamp: new Date().toISOString(),
                      idempotencyKey: `${prefix}-${seq++}`,
                    },
                  ],
                }),
              }
            : req,
      },
    ],
  });
  process.stdout.write(
    JSON.stringify({
      requestsPerSecond: result.requests.average,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      p99Ms: result.latency.p99,
    }),
  );
}

void main();
