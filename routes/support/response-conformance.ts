import type { RequestHandler } from 'express';

/** One response whose status or media type openapi.yaml does not declare for its operation. */
export interface SpecViolation {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly contentType: string | null;
  readonly problem: string;
}

type Spec = { paths: Record<string, unknown>; components?: { responses?: Record<string, unknown> } };
type ResponseObject = { $ref?: string; content?: Record<string, unknown> };

/**
 * Checks every response's status and media type against the operation openapi.yaml declares for
 * it: errors (problem+json), pages (text/html) and redirects included, which the request/response
 * validator does not see because they are not sent with `res.json`. Paths the spec does not name
 * (404 for an unknown URL) have no operation and are not checked. Used by the test harness: the
 * violations are collected, and the suite fails when any was seen.
 */
export function responseConformance(spec: Spec, violations: SpecViolation[]): RequestHandler {
  const operations = Object.entries(spec.paths).map(([template, item]) => ({
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    item: item as Record<string, { responses?: Record<string, ResponseObject> }>,
  }));
  const resolve = (r: ResponseObject): ResponseObject => {
    const name = r.$ref?.match(/^#\/components\/responses\/(.+)$/)?.[1];
    return name ? ((spec.components?.responses?.[name] as ResponseObject | undefined) ?? r) : r;
  };
  return (req, res, next) => {
    const path = req.path;
    const method = req.method.toLowerCase();
    const original = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    (res as unknown as { writeHead: (...args: unknown[]) => typeof res }).writeHead = (...args: unknown[]) => {
      const status = typeof args[0] === 'number' ? args[0] : res.statusCode;
      const headers = args.find((a) => a && typeof a === 'object' && !Array.isArray(a)) as Record<string, unknown> | undefined;
      const rawType = (headers?.['content-type'] ?? headers?.['Content-Type'] ?? res.getHeader('content-type')) as string | undefined;
      const contentType = rawType ? String(rawType).split(';')[0]!.trim() : null;
      const operation = operations.find((o) => o.pattern.test(path))?.item[method];
      if (operation) {
        const declared = operation.responses?.[String(status)] ?? operation.responses?.default;
        if (!declared) violations.push({ method: req.method, path, status, contentType, problem: `status ${status} is not declared` });
        else {
          const content = resolve(declared).content;
          // A redirect's body is only a courtesy link: its media type is not part of the contract.
          if (contentType && (status < 300 || status >= 400) && (!content || !(contentType in content))) {
            violations.push({
              method: req.method,
              path,
              status,
              contentType,
              problem: `${contentType} is not declared for status ${status}`,
            });
          }
        }
      }
      return original(...args);
    };
    next();
  };
}
