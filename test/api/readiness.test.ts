import request from 'supertest';
import { startHarness, type Harness } from '../support/harness';

describe('/readyz in aws mode', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });

  it('is not ready, and says why, when no notification source is configured', async () => {
    const h = await startHarness({
      env: { SUBSCRIPTION_QUEUE_URL: undefined, ENTITLEMENT_QUEUE_URL: undefined, EVENTBRIDGE_QUEUE_URL: undefined },
    });
    harnesses.push(h);
    const res = await request(h.app).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'not_ready', checks: { store: 'ok', notifications: 'failing' } });
    expect(res.body.reasons.notifications).toMatch(/SUBSCRIPTION_QUEUE_URL/);
  });

  it('is ready with only an SNS HTTPS topic configured', async () => {
    const h = await startHarness({
      env: {
        SUBSCRIPTION_QUEUE_URL: undefined,
        ENTITLEMENT_QUEUE_URL: undefined,
        EVENTBRIDGE_QUEUE_URL: undefined,
        SNS_TOPIC_ARNS: 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-abc',
      },
    });
    harnesses.push(h);
    const res = await request(h.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks.notifications).toBe('ok');
  });
});
