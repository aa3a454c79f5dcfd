/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return (
    typeof value === 'string'
      ? value
      : value === null || value === undefined
        ? ''
        : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
          ? value.toString()
          : JSON.stringify(value)
  )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Tagged template that escapes every interpolated value unless it is {@link raw}. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Raw(out);
}

/** Already-safe HTML. */
export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function render(v: unknown): string {
  if (v instanceof Raw) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(v);
}

/** The page frame. */
export function page(title: string, body: Raw, extraHead: Raw = new Raw('')): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#16191f}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #d5dbdb;padding:.3rem .6rem;text-align:left;font-size:.9rem}
th{background:#f2f3f3}form{display:inline}button{margin:.1rem}code{font-size:.85rem}
.muted{color:#687078}
</style>${extraHead}</head><body>${body}</body></html>`.value;
}
