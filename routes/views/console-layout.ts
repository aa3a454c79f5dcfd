import { html, type SafeHtml } from './html';

/** What every signed-in console page needs: the CSRF token of its forms. */
export interface ConsoleFrame {
  readonly csrf: string;
  readonly sellerName: string;
  /** The navigation entry of this page. */
  readonly current: 'overview' | 'customers' | 'problems' | 'notifications' | 'login';
}

const NAV: ReadonlyArray<readonly [ConsoleFrame['current'], string, string]> = [
  ['overview', '/admin', 'Overview'],
  ['customers', '/admin/customers', 'Customers'],
  ['problems', '/admin/problems', 'Problems'],
  ['notifications', '/admin/notifications', 'Notifications'],
];

/** The console's page frame: static stylesheet and script (no inline code), navigation, sign-out form. */
export function consoleLayout(frame: ConsoleFrame, title: string, body: SafeHtml): string {
  const signedIn = frame.current !== 'login';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · ${frame.sellerName} console</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<header>
<span class="brand">${frame.sellerName} · Marketplace console</span>
${
  signedIn
    ? html`<nav>${NAV.map(
        ([key, href, label]) => html`<a href="${href}"${key === frame.current ? html` aria-current="page"` : ''}>${label}</a> `,
      )}</nav>
<form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="${frame.csrf}"><button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main>
${body}
</main>
</body>
</html>`.value;
}

/** `2026-12-03 13:00` (UTC), or a dash. */
export function utc(d: Date | null | undefined): string {
  return d ? `${d.toISOString().slice(0, 16).replace('T', ' ')}` : '—';
}

export function stateBadge(state: string): SafeHtml {
  return html`<span class="state state-${state}">${state.replace('_', ' ')}</span>`;
}

/** A table, or an empty-state sentence when there are no rows. */
export function table(headers: readonly string[], rows: readonly SafeHtml[], empty: string, numeric: readonly number[] = []): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<div class="scroll"><table><thead><tr>${headers.map(
    (h, i) => html`<th${numeric.includes(i) ? html` class="num"` : ''}>${h}</th>`,
  )}</tr></thead><tbody>${rows}</tbody></table></div>`;
}
