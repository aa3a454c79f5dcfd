// examples/snippets/verify-webhook.ts: WEBHOOK_SECRET=whsec_… node -r @swc-node/register examples/snippets/verify-webhook.ts
import express from 'express';
import { Webhook } from 'standardwebhooks';

const webhook = new Webhook(process.env.WEBHOOK_SECRET!);
const app = express();
// The signature covers the body exactly as sent: keep it raw until verified.
app.post('/webhooks/marketplace', express.raw({ type: 'application/json' }), (req, res) => {
  let event: { id: string; type: string; data: { customer?: { id: string; status: string } } };
  try {
    event = webhook.verify(req.body as Buffer, req.headers as Record<string, string>) as typeof event;
  } catch {
    res.status(401).end();
    return;
  }
  // At least once, in order per customer: skip an event.id you have already processed.
  console.log(event.type, event.id, event.data.customer?.id, event.data.customer?.status);
  res.status(204).end();
});
app.listen(Number(process.env.APP_PORT ?? 4000), '127.0.0.1');
