import { html } from './html';
import { layout, type SellerInfo } from './layout';

export interface StartPageInfo {
  readonly mode: 'aws' | 'simulator';
  /** Simulator mode: the simulator's buyer page. */
  readonly simulatorUrl?: string;
  /** Simulator mode: the local API key, printed so the walkthrough can be followed from here. */
  readonly localApiKey?: string;
}

/** `/`: in simulator mode, where to start; in aws mode, only that the service is running. */
export function renderStartPage(seller: SellerInfo, info: StartPageInfo): string {
  if (info.mode === 'aws') {
    return layout(seller, 'marketplace-bridge', html`<h1>marketplace-bridge</h1><p>This service is running.</p>`);
  }
  return layout(
    seller,
    'marketplace-bridge (local demo)',
    html`<h1>marketplace-bridge, local demo</h1>
<p>Everything runs on this machine against a local AWS Marketplace simulator: no AWS account is used and nobody is billed.</p>
<ol>
<li><a href="${info.simulatorUrl ?? ''}">Open the simulator</a> and choose <strong>Subscribe as a new buyer</strong> on a demo product: your browser comes back here as a buyer's would from AWS Marketplace.</li>
<li>Report usage with the machine API (key <code>${info.localApiKey ?? ''}</code>), as in the README walkthrough.</li>
<li>On the simulator page, choose <strong>Advance one hour</strong>: the service seals the hour and sends it, and the record appears in the simulator's Billed table within seconds.</li>
</ol>
<h2>More</h2>
<ul>
<li><a href="/admin">The seller console</a>: sign in with the same key (customers, billed hours, problems)</li>
<li><a href="/openapi.yaml">The API specification</a> (OpenAPI 3)</li>
<li><a href="/readyz">Readiness</a> and <a href="/healthz">health</a></li>
<li><code>GET /metrics</code> with the same key: Prometheus metrics</li>
</ul>`,
  );
}
