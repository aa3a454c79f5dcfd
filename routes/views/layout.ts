import { html, raw, type SafeHtml } from './html';

export interface SellerInfo {
  readonly name: string;
  readonly supportEmail: string;
  readonly supportUrl?: string;
  readonly productUrl?: string;
  readonly loginUrl?: string;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:42rem;margin:2rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.5rem;margin-top:0}.status{padding:.75rem 1rem;border-radius:6px;margin:1rem 0}
.status-active{background:#e6f4ea}.status-pending{background:#fff8e1}.status-failed,.status-ended{background:#fdecea}
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
.field-error{color:#b00020;font-size:.9rem;margin:.25rem 0 0}button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}
fieldset{border:0;padding:0;margin:0}fieldset:disabled input{background:#f1f2f4;color:#555}.locked{background:#fdecea}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e5e8;padding:.4rem;text-align:left}
footer{margin-top:2rem;font-size:.9rem;color:#555}`;

/** The page frame every buyer-facing page shares: title, seller support contact, product link. `head`: more of the head (a nonce'd script). */
export function layout(seller: SellerInfo, title: string, body: SafeHtml, head?: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${seller.name}</title>
<style>${raw(STYLE)}</style>
${head ?? ''}
</head>
<body>
<main>
${body}
<footer>
<p>Questions about your subscription? Contact ${seller.name} support at <a href="mailto:${seller.supportEmail}">${seller.supportEmail}</a>${seller.supportUrl ? html` or visit <a href="${seller.supportUrl}">${seller.supportUrl}</a>` : ''}.</p>
${seller.productUrl ? html`<p><a href="${seller.productUrl}">About ${seller.name}</a></p>` : ''}
</footer>
</main>
</body>
</html>`.value;
}
