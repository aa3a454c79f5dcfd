/** Reads one cookie from a Cookie header (RFC 6265 syntax; no library needed for one value). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  readonly maxAgeSeconds: number;
  readonly secure: boolean;
  readonly path: string;
  /** Default `Lax`; the console uses `Strict` (it is never entered by a cross-site request). */
  readonly sameSite?: 'Lax' | 'Strict';
}

/** A Set-Cookie value for a session: HttpOnly, SameSite=Lax (the buyer arrives by a cross-site POST, then a GET). */
export function sessionCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    `SameSite=${options.sameSite ?? 'Lax'}`,
    options.secure ? 'Secure' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** A Set-Cookie value that removes the cookie (same name, path and flags; expired). */
export function clearCookie(name: string, options: Omit<CookieOptions, 'maxAgeSeconds'>): string {
  return sessionCookie(name, '', { ...options, maxAgeSeconds: 0 });
}
