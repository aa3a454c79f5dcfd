/** The console's stylesheet and script, served as static files (`/assets/console.css`, `/assets/console.js`): the CSP needs no inline code. */
export const CONSOLE_CSS = `
*{box-sizing:border-box}body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header a{color:#fff;text-decoration:none}header a[aria-current=page]{text-decoration:underline}header .brand{font-weight:700;margin-right:auto}
header form{margin:0}header button{background:none;border:1px solid #8a93a6;color:#fff;padding:.2rem .6rem;border-radius:4px;cursor:pointer}
main{max-width:72rem;margin:1rem auto;padding:0 1rem}h1{font-size:1.4rem;margin:.5rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
section,.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:1rem;margin-bottom:1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}.big{font-size:2rem;font-weight:700}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}table{border-collapse:collapse;width:100%;font-size:.92rem}
td,th{border-bottom:1px solid #e3e5e8;padding:.35rem .45rem;text-align:left;vertical-align:top}th{background:#f1f2f4;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
.empty{color:#555;font-style:italic;padding:.5rem 0}.state{display:inline-block;padding:0 .4rem;border-radius:4px;background:#eef0f3;white-space:nowrap}
.state-accepted,.state-active,.state-applied{background:#e6f4ea}.state-failed,.state-expired,.state-duplicate,.state-not_subscribed,.state-rejected{background:#fdecea}
.state-held,.state-pending,.state-unmatched,.state-stale,.state-pending_approval,.state-ending{background:#fff8e1}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}label{display:block;font-weight:600;font-size:.9rem}
input,select{font-size:1rem;padding:.4rem;border:1px solid #c4c8cf;border-radius:4px;max-width:100%}button{font-size:1rem;padding:.4rem .9rem;border-radius:4px;border:1px solid #4a5568;background:#fff;cursor:pointer}
button.primary{background:#1d4ed8;color:#fff;border-color:#1d4ed8}.error{color:#b00020}.notice{background:#e6f4ea;padding:.5rem .75rem;border-radius:6px}
.login{max-width:24rem;margin:3rem auto}.login input{width:100%}.login form{margin-bottom:1.5rem}
pre.report{white-space:pre-wrap;background:#f6f7f9;padding:.5rem;border-radius:4px;font-size:.8rem;margin:.4rem 0}
svg.chart{width:100%;height:auto;max-height:14rem}svg.chart rect.bar{fill:#1d4ed8}svg.chart text{font-size:10px;fill:#555}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dl.facts dt{font-weight:600}dl.facts dd{margin:0;word-break:break-all}
@media (max-width:600px){body{font-size:15px}main{padding:0 .5rem}td,th{padding:.3rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}}
`;

export const CONSOLE_JS = `
document.addEventListener('click', function (e) {
  var t = e.target;
  if (!(t instanceof HTMLElement)) return;
  var copy = t.closest('[data-copy]');
  if (copy) {
    var source = document.getElementById(copy.getAttribute('data-copy'));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent || '').then(function () { copy.textContent = 'Copied'; });
    }
  }
});
document.addEventListener('submit', function (e) {
  var f = e.target;
  if (f instanceof HTMLFormElement && f.hasAttribute('data-confirm') && !window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
});
`;
