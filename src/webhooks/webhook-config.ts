/**
 * `WEBHOOK_ENDPOINTS`: endpoints from the configuration (pure). A JSON array of
 * `{ "name", "url", "kind"?, "secret"?, "previousSecret"?, "eventTypes"?, "description"? }`; every
 * problem is reported with where it is, and the process does not start with any.
 */
import { z } from 'zod';
import type { AddressPolicy } from './address-policy';
import type { ConfiguredEndpoint } from './endpoint.repository';
import { ALL_WEBHOOK_EVENT_TYPES, type WebhookEventType } from './event-types';
import { ENDPOINT_KINDS, endpointUrlProblem } from './webhook-endpoint';
import { secretProblem } from './webhook-signature';

const endpointSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'a name of 1 to 40 letters, digits, _ or -'),
    url: z.string(),
    kind: z.enum(ENDPOINT_KINDS).default('standard'),
    secret: z.string().optional(),
    previousSecret: z.string().optional(),
    eventTypes: z.array(z.enum(ALL_WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]])).optional(),
    description: z.string().max(200).optional(),
  })
  .strict();

/** The configured endpoints, or the problems (never echoing a secret). */
export function parseWebhookEndpoints(
  text: string | undefined,
  policy: AddressPolicy,
): { endpoints: ConfiguredEndpoint[]; problems: string[] } {
  if (text === undefined || text.trim() === '') return { endpoints: [], problems: [] };
  const where = 'WEBHOOK_ENDPOINTS';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      endpoints: [],
      problems: [`${where}: not valid JSON; expected an array of {"name","url","secret",…} (see README "Webhooks")`],
    };
  }
  const parsed = z.array(endpointSchema).max(50).safeParse(json);
  if (!parsed.success) {
    return {
      endpoints: [],
      problems: parsed.error.issues.map((i) => `${where}: at ${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`),
    };
  }
  const problems: string[] = [];
  const names = new Set<string>();
  parsed.data.forEach((e, index) => {
    const at = `${where}: endpoint ${index} ("${e.name}")`;
    if (names.has(e.name)) problems.push(`${at}: the name is used twice`);
    names.add(e.name);
    const urlProblem = endpointUrlProblem(e.url, policy);
    if (urlProblem) problems.push(`${at}: url ${urlProblem}`);
    if (e.kind === 'standard') {
      if (!e.secret) problems.push(`${at}: secret is required (whsec_ followed by base64 of 24 to 64 random bytes)`);
      else if (secretProblem(e.secret)) problems.push(`${at}: secret: ${secretProblem(e.secret)}`);
      if (e.previousSecret && secretProblem(e.previousSecret)) problems.push(`${at}: previousSecret: ${secretProblem(e.previousSecret)}`);
    } else if (e.secret || e.previousSecret) {
      problems.push(`${at}: a slack endpoint is not signed; remove secret and previousSecret`);
    }
  });
  return { endpoints: problems.length ? [] : parsed.data, problems };
}
