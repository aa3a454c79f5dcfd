// examples/snippets/handoff-login.ts: node -r @swc-node/register examples/snippets/handoff-login.ts
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const bridge = process.env.BRIDGE_URL ?? 'http://127.0.0.1:3000';
const apiKey = process.env.BRIDGE_API_KEY ?? 'local-dev-api-key-change-me';
const port = Number(process.env.APP_PORT ?? 4000);
const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', bridge));
const app = express();
// LOGIN_URL=http://127.0.0.1:4000/login: the buyer arrives here with ?handoff_token=…
app.get('/login', async (req, res) => {
  const token = String(req.query.handoff_token ?? '');
  try {
    // Signature, issuer, audience (this app's origin), type and the 5-minute expiry.
    await jwtVerify(token, jwks, { issuer: bridge, audience: `http://127.0.0.1:${port}`, typ: 'marketplace-handoff+jwt' });
  } catch {
    res.status(401).send('invalid or expired sign-in link');
    return;
  }
  // Single use: redeeming spends the token; a second redemption is refused (409).
  const redeemed = await fetch(`${bridge}/v1/handoffs/redeem`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!redeemed.ok) {
    res.status(401).send('this sign-in link was already used');
    return;
  }
  const { customer } = (await redeemed.json()) as { customer: { id: string; onboarding: { company: string | null } } };
  // Create or find your tenant for customer.id here, then PATCH /v1/customers/{id} {"externalId": "<tenant id>"}.
  res.send(`Signed in as ${customer.id} (${customer.onboarding.company ?? 'no company given'})`);
});
app.listen(port, '127.0.0.1');
