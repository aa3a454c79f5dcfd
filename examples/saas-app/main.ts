/**
 * Runs the example app against a local marketplace-bridge:
 *
 *   LOGIN_URL=http://127.0.0.1:4000/login npm start                        # the bridge, simulator mode
 *   node -r @swc-node/register examples/saas-app/main.ts                   # this app, on port 4000
 *
 * Without WEBHOOK_SECRET it registers its own webhook endpoint with the bridge (the secret comes
 * back once, in that answer). Environment: BRIDGE_URL (http://127.0.0.1:3000), BRIDGE_API_KEY (the
 * bridge's local key), APP_PORT (4000), WEBHOOK_SECRET, TENANTS_DB (in memory).
 */
import { createSaasApp } from './app';

async function main(): Promise<void> {
  const bridgeUrl = process.env.BRIDGE_URL ?? 'http://127.0.0.1:3000';
  const apiKey = process.env.BRIDGE_API_KEY ?? 'local-dev-api-key-change-me';
  const port = Number(process.env.APP_PORT ?? 4000);
  const origin = `http://127.0.0.1:${port}`;
  let webhookSecret = process.env.WEBHOOK_SECRET;
  if (!webhookSecret) {
    const res = await fetch(`${bridgeUrl}/v1/webhook-endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${origin}/webhooks/marketplace`, description: 'example SaaS app' }),
    });
    if (res.status !== 201) throw new Error(`registering the webhook endpoint answered ${res.status}: ${await res.text()}`);
    webhookSecret = ((await res.json()) as { secret: string }).secret;
  }
  const { app } = createSaasApp({ bridgeUrl, apiKey, webhookSecret, audience: origin, databasePath: process.env.TENANTS_DB });
  app.listen(port, '127.0.0.1', () => process.stdout.write(`example SaaS app on ${origin} (tenants: ${origin}/tenants)\n`));
}

main().catch((error: unknown) => {
  process.stderr.write(`example app failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
