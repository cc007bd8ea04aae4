/**
 * /debug/status, as every Vitess binary has one: what the process is, how it was started,
 * its backend, and the service's own tables. The server renders the body; the page fetches
 * it again every second (no reload, no client-side templates), so one renderer serves the
 * page, the live updates and tests.
 */

/** A cell: plain text (everything is escaped when rendered), or text marked good or bad. */
export type StatusCell = string | { text: string; tone: 'ok' | 'bad' };

/** One table of the page. */
export interface StatusTable {
  title: string;
  columns: string[];
  rows: StatusCell[][];
  /** Shown under the title, e.g. "first 500 of 50,000". */
  note?: string;
}

export interface StatusReport {
  service: string;
  version: string;
  node: string;
  pid: number;
  startedAt: Date;
  flags: Record<string, string>;
  backend: {
    backend: string;
    endpoints: string[];
    reachable: boolean;
    since: Date;
    alarms: string[];
  };
  serving: string;
  tables: StatusTable[];
  /** A section that failed to read (the backend is down, say): shown instead of its table. */
  errors: string[];
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

const renderCell = (cell: StatusCell): string =>
  typeof cell === 'string' ? `<td>${escape(cell)}</td>` : `<td class="${cell.tone}">${escape(cell.text)}</td>`;

function table(t: StatusTable): string {
  const head = t.columns.map((c) => `<th>${escape(c)}</th>`).join('');
  const body =
    t.rows.length === 0
      ? `<tr><td colspan="${t.columns.length}" class="empty">none</td></tr>`
      : t.rows.map((row) => `<tr>${row.map(renderCell).join('')}</tr>`).join('');
  const note = t.note ? `<p class="note">${escape(t.note)}</p>` : '';
  return `<section><h2>${escape(t.title)}</h2>${note}<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></section>`;
}

/** The live part of the page. */
export function renderStatusBody(report: StatusReport, now: Date = new Date()): string {
  const b = report.backend;
  const health = b.reachable
    ? `<span class="ok">reachable</span> for ${formatAge(now.getTime() - b.since.getTime())}`
    : `<span class="bad">unreachable</span> for ${formatAge(now.getTime() - b.since.getTime())}`;
  const alarms =
    b.alarms.length === 0 ? '<span class="ok">none</span>' : b.alarms.map((a) => `<span class="bad">${escape(a)}</span>`).join(', ');
  const flags = Object.entries(report.flags)
    .map(([name, value]) => `<tr><td>--${escape(name)}</td><td>${escape(value)}</td></tr>`)
    .join('');
  const errors = report.errors.map((e) => `<p class="bad">${escape(e)}</p>`).join('');
  return [
    `<header><h1>${escape(report.service)}</h1>`,
    `<p>version ${escape(report.version)} · node ${escape(report.node)} · pid ${report.pid} · up ${formatAge(now.getTime() - report.startedAt.getTime())} · health <b id="serving">${escape(report.serving)}</b> · updated ${escape(now.toISOString())}</p></header>`,
    `<section><h2>Backend</h2><table><tbody>`,
    `<tr><td>plugin</td><td>${escape(b.backend)}</td></tr>`,
    `<tr><td>endpoints</td><td>${escape(b.endpoints.join(', ') || '(in process)')}</td></tr>`,
    `<tr><td>health</td><td id="backend-health">${health}</td></tr>`,
    `<tr><td>alarms</td><td id="backend-alarms">${alarms}</td></tr>`,
    `</tbody></table></section>`,
    errors,
    ...report.tables.map(table),
    `<section><h2>Flags</h2><table><tbody>${flags}</tbody></table></section>`,
  ].join('');
}

export function renderStatusPage(report: StatusReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(report.service)} status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{margin:0 0 .2em;font-size:1.5em}h2{font-size:1.1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;min-width:30em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#eef}.ok{color:#080;font-weight:600}.bad{color:#b00;font-weight:600}.empty{color:#888}.note{color:#555;margin:.2em 0}
#stale{color:#b00;display:none}
</style></head>
<body><p id="stale">status page lost contact with the server; retrying</p><main id="status">${renderStatusBody(report)}</main>
<script>
(function () {
  var main = document.getElementById('status'), stale = document.getElementById('stale');
  function refresh() {
    fetch('/debug/status?body=1', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { main.innerHTML = html; stale.style.display = 'none'; })
      .catch(function () { stale.style.display = 'block'; })
      .finally(function () { setTimeout(refresh, 1000); });
  }
  setTimeout(refresh, 1000);
})();
</script></body></html>`;
}
