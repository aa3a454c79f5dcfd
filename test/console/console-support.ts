import { randomBytes, scryptSync } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';

export const ADMIN_PASSWORD = 'correct horse battery staple';

/** An ADMIN_PASSWORD_HASH for `password` (the README's one-liner, with a small N so tests stay fast). */
export function passwordHash(password = ADMIN_PASSWORD, N = 1024): string {
  const salt = randomBytes(16);
  return ['scrypt', N, 8, 1, salt.toString('base64'), scryptSync(password, salt, 32, { N, r: 8, p: 1 }).toString('base64')].join('$');
}

/** The `name=value` of a Set-Cookie header list. */
export function cookieValue(setCookie: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const line = list.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

export function setCookieLine(setCookie: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return list.find((c) => c.startsWith(`${name}=`));
}

/** The sign-in page's form token and cookie. */
export async function loginForm(app: Express): Promise<{ csrf: string; cookie: string }> {
  const res = await request(app).get('/admin/login');
  const csrf = /name="csrf" value="([^"]+)"/.exec(res.text)?.[1];
  const cookie = cookieValue(res.headers['set-cookie'], 'mb_admin_login');
  if (!csrf || !cookie) throw new Error(`no sign-in form: ${res.status}`);
  return { csrf, cookie };
}

/** Signs in with `fields` (password or apiKey) and returns the `mb_admin=…` cookie. */
export async function signIn(app: Express, fields: { password?: string; apiKey?: string }): Promise<string> {
  const form = await loginForm(app);
  const res = await request(app)
    .post('/admin/login')
    .set('Cookie', form.cookie)
    .type('form')
    .send({ csrf: form.csrf, ...fields });
  const cookie = cookieValue(res.headers['set-cookie'], 'mb_admin');
  if (res.status !== 303 || !cookie) throw new Error(`sign-in failed: ${res.status} ${res.text.slice(0, 200)}`);
  return cookie;
}

/** The CSRF token of the forms on a signed-in page. */
export async function pageCsrf(app: Express, cookie: string, path = '/admin'): Promise<string> {
  const res = await request(app).get(path).set('Cookie', cookie);
  const csrf = /name="csrf" value="([^"]+)"/.exec(res.text)?.[1];
  if (res.status !== 200 || !csrf) throw new Error(`no page csrf at ${path}: ${res.status}`);
  return csrf;
}
