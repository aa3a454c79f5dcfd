import { html } from './html';
import { layout, type SellerInfo } from './layout';

/** A page that explains a problem to a buyer in plain words, with what to do next. */
export function renderMessagePage(seller: SellerInfo, title: string, paragraphs: readonly string[]): string {
  return layout(seller, title, html`<h1>${title}</h1>${paragraphs.map((p) => html`<p>${p}</p>`)}`);
}
