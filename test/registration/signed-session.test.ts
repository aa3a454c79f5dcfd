import { ManualClock } from '../../src/platform/clock';
import { SessionCodec } from '../../src/platform/signed-session';

describe('onboarding sessions', () => {
  const secret = Buffer.from('a-session-secret-of-at-least-32-characters');
  const customerId = '3f2a9c1e-8d4b-4e7a-9b1c-0123456789ab';

  it('are opaque: the cookie value shows neither the customer id nor any JSON', () => {
    const codec = new SessionCodec(secret, 3600, new ManualClock('2026-03-10T10:00:00Z'));
    const value = codec.issue(customerId);
    const [body] = value.split('.');
    const decoded = Buffer.from(body!, 'base64url').toString('latin1');
    expect(value).not.toContain(customerId);
    expect(decoded).not.toContain(customerId);
    expect(decoded).not.toMatch(/"sub"|"exp"|"nonce"/);
    expect(codec.open(value)?.sub).toBe(customerId);
  });

  it('refuse a forged, re-signed, truncated or expired value and another secret', () => {
    const clock = new ManualClock('2026-03-10T10:00:00Z');
    const codec = new SessionCodec(secret, 60, clock);
    const value = codec.issue(customerId);
    const [body, mac] = value.split('.') as [string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[14] = flipped[14]! ^ 1;
    expect(codec.open(`${flipped.toString('base64url')}.${mac}`)).toBeUndefined();
    expect(codec.open(`${body}.${mac.slice(1)}x`)).toBeUndefined();
    expect(codec.open(body)).toBeUndefined();
    expect(codec.open(`${body}.${mac}.x`)).toBeUndefined();
    expect(new SessionCodec(Buffer.from('another-secret-of-at-least-32-characters!'), 60, clock).open(value)).toBeUndefined();
    clock.advance(61_000);
    expect(codec.open(value)).toBeUndefined();
  });

  it('bind the anti-forgery token to the session', () => {
    const codec = new SessionCodec(secret, 3600, new ManualClock('2026-03-10T10:00:00Z'));
    const a = codec.open(codec.issue(customerId))!;
    const b = codec.open(codec.issue(customerId))!;
    expect(codec.verifyCsrf(a, codec.csrfToken(a))).toBe(true);
    expect(codec.verifyCsrf(a, codec.csrfToken(b))).toBe(false);
    expect(codec.verifyCsrf(a, undefined)).toBe(false);
  });
});
