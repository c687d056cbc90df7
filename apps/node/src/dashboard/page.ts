/**
 * The dashboard page: one self-contained HTML document (inline CSS, script and SVG; it fetches
 * nothing but its own event stream, so it works offline and behind any proxy). The script
 * draws each DashboardPayload the stream sends; every element a test or a person looks for
 * carries a data- attribute with its value (data-member, data-up, data-role, data-leader).
 */

const STYLE = `
:root { color-scheme: light; --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --up: #12805c; --down: #c4320a; --lead: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f8f9fb; }
header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .muted { color: var(--muted); }
#leader[data-leader=""] { color: var(--down); }
#leader { color: var(--lead); font-weight: 600; }
#connection[data-connected="false"] { color: var(--down); font-weight: 600; }
main { padding: 16px 24px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 500; }
td.num, th.num { text-align: right; }
tr[data-up="false"] td { color: var(--muted); }
.state { font-weight: 600; }
tr[data-up="true"] .state { color: var(--up); }
tr[data-up="false"] .state { color: var(--down); }
tr[data-role="leader"] .role { color: var(--lead); font-weight: 600; }
svg { width: 100%; height: 180px; display: block; }
svg .axis { stroke: #98a2b3; stroke-width: 1; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg text { font-size: 11px; fill: var(--muted); }
svg .series { fill: none; stroke-width: 1.8; }
.legend span { margin-right: 14px; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 4px; }
ol#events { list-style: none; margin: 0; padding: 0; max-height: 260px; overflow: auto; }
ol#events li { padding: 4px 0; border-bottom: 1px solid var(--line); }
ol#events time { color: var(--muted); margin-right: 10px; font-variant-numeric: tabular-nums; }
ol#events li[data-kind="down"], ol#events li[data-kind="leaderless"] { color: var(--down); }
ol#events li[data-kind="up"] { color: var(--up); }
ol#events li[data-kind="leader"] { color: var(--lead); }
`;

/** Runs in the browser: plain ES2017, no modules, nothing fetched but /events. */
const SCRIPT = `
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var SVG_TAGS = ['svg', 'polyline', 'line', 'text', 'circle'];
  var COLORS = { writes: '#1d4ed8', reads: '#12805c' };
  function el(tag, attrs, children) {
    var e = SVG_TAGS.indexOf(tag) >= 0 ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (var k in attrs || {}) if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function replace(id, node) { var old = document.getElementById(id); node.id = id; old.parentNode.replaceChild(node, old); }
  function fmt(v, digits) { return v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 0 : digits }); }
  function clock(ms) { return new Date(ms).toISOString().slice(11, 23); }

  function header(p) {
    document.getElementById('self').textContent = p.nodeId;
    document.getElementById('protocol').textContent = p.protocol;
    var leader = document.getElementById('leader');
    leader.setAttribute('data-leader', p.leader ? p.leader.id : '');
    leader.textContent = p.leader ? p.leader.id + ' (' + p.fencingName + ' ' + p.leader.fence + ')' : 'none';
    document.getElementById('updated').textContent = clock(p.atMs);
  }

  function members(p) {
    var head = el('tr', {}, ['member', 'address', 'kind', 'state', 'role', p.fencingName, 'commit', 'applied', 'lag'].map(function (h, i) { return el('th', { class: i >= 5 ? 'num' : null }, [h]); }));
    var rows = p.members.map(function (m) {
      return el('tr', { 'data-member': m.id, 'data-up': String(m.up), 'data-role': m.role || '', title: m.error || '' }, [
        el('td', {}, [m.id + (m.id === p.nodeId ? ' (this node)' : '')]),
        el('td', {}, [m.address]),
        el('td', {}, [m.memberRole]),
        el('td', { class: 'state' }, [m.up ? 'up' : 'down']),
        el('td', { class: 'role' }, [m.role || '–']),
        el('td', { class: 'num' }, [m.fence === null ? '–' : m.fence]),
        el('td', { class: 'num' }, [fmt(m.commitIndex)]),
        el('td', { class: 'num' }, [fmt(m.appliedIndex)]),
        el('td', { class: 'num' }, [fmt(m.lagEntries)]),
      ]);
    });
    replace('members', el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]));
  }

  /** A line chart of the series in 'lines' (name → values, null = no point), over the window. */
  function chart(id, lines, unit, s) {
    var W = 560, H = 180, L = 48, R = 8, T = 10, B = 22;
    var n = s.writesPerSecond.length, max = 0;
    Object.keys(lines).forEach(function (k) { lines[k].forEach(function (v) { if (v !== null && v > max) max = v; }); });
    max = max > 0 ? max * 1.1 : 1;
    var x = function (i) { return L + (W - L - R) * (n <= 1 ? 1 : i / (n - 1)); };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    var parts = [
      el('line', { class: 'grid', x1: L, x2: W - R, y1: y(max / 2), y2: y(max / 2) }),
      el('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }),
      el('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }),
      el('text', { x: L - 4, y: T + 8, 'text-anchor': 'end' }, [fmt(max, max < 10 ? 1 : 0)]),
      el('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, ['0']),
      el('text', { x: L, y: H - 6 }, ['-' + Math.round((n * s.bucketMs) / 60000) + ' min']),
      el('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, ['now']),
      el('text', { x: L + 4, y: T + 8 }, [unit]),
    ];
    // One polyline per run of buckets with a value (a gap is a stretch without calls, not a
    // zero latency), and a dot on every bucket that saw calls, so a lone busy bucket shows.
    Object.keys(lines).forEach(function (k) {
      var runs = [[]];
      lines[k].forEach(function (v, i) {
        if (v === null) { if (runs[runs.length - 1].length > 0) runs.push([]); return; }
        runs[runs.length - 1].push(x(i).toFixed(1) + ',' + y(v).toFixed(1));
        if (v > 0) parts.push(el('circle', { class: 'dot', 'data-series': k, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: COLORS[k] }));
      });
      runs.forEach(function (pts) { if (pts.length > 0) parts.push(el('polyline', { class: 'series', 'data-series': k, stroke: COLORS[k], points: pts.join(' ') })); });
    });
    replace(id, el('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none' }, parts));
  }

  function events(p) {
    replace('events', el('ol', {}, p.events.map(function (e) {
      return el('li', { 'data-kind': e.kind }, [el('time', {}, [clock(e.atMs)]), e.text]);
    })));
  }

  function draw(p) {
    header(p);
    members(p);
    chart('throughput', { writes: p.series.writesPerSecond, reads: p.series.readsPerSecond }, 'per second', p.series);
    chart('latency', { writes: p.series.writeLatencyMs, reads: p.series.readLatencyMs }, 'ms', p.series);
    events(p);
  }

  var connection = document.getElementById('connection');
  var source = new EventSource('events');
  source.onopen = function () { connection.setAttribute('data-connected', 'true'); connection.textContent = 'live'; };
  source.onerror = function () { connection.setAttribute('data-connected', 'false'); connection.textContent = 'this node does not answer; retrying'; };
  source.onmessage = function (m) { draw(JSON.parse(m.data)); };
})();
`;

export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quorumlite dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>quorumlite</h1>
  <div><span class="muted">served by</span> <b id="self">…</b></div>
  <div><span class="muted">protocol</span> <b id="protocol">…</b></div>
  <div><span class="muted">leader</span> <span id="leader" data-leader="">…</span></div>
  <div class="muted">updated <span id="updated">–</span> · <span id="connection" data-connected="false">connecting</span></div>
</header>
<main>
  <section class="wide"><h2>Members</h2><table id="members"></table></section>
  <section><h2>Client calls per second</h2><div class="legend"><span><i style="background:#1d4ed8"></i>writes</span><span><i style="background:#12805c"></i>reads</span></div><svg id="throughput"></svg></section>
  <section><h2>Latency, arrival to answer (mean)</h2><div class="legend"><span><i style="background:#1d4ed8"></i>writes</span><span><i style="background:#12805c"></i>reads</span></div><svg id="latency"></svg></section>
  <section class="wide"><h2>Recent elections and faults</h2><ol id="events"></ol></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
