// app.js -- the gitfleet dashboard: fleet, cluster, app, history and rollouts views over the hub's
// API, kept live by /api/v1/events. Plain ES module, no dependencies, no build step.

const HEALTH_ORDER = ['Degraded', 'Missing', 'Unknown', 'Progressing', 'Suspended', 'Healthy'];
const HEALTH_ICON = { Healthy: '✓', Progressing: '↻', Degraded: '✕', Missing: '!', Suspended: '‖', Unknown: '?' };
const SYNC_ORDER = ['OutOfSync', 'Unknown', 'Synced'];
const SYNC_ICON = { Synced: '✓', OutOfSync: '≠', Unknown: '?' };
const TOKEN_KEY = 'gitfleet.token';
const main = document.getElementById('main');

// ---- small helpers ----

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) =>
  ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const short = (rev) => (rev ? String(rev).slice(0, 7) : '');
const healthRank = (h) => { const i = HEALTH_ORDER.indexOf(h); return i < 0 ? 2 : i; };
const syncRank = (s) => { const i = SYNC_ORDER.indexOf(s); return i < 0 ? 1 : i; };
const enc = encodeURIComponent;

function healthBadge(h) {
  const name = HEALTH_ICON[h] ? h : 'Unknown';
  return `<span class="badge h-${name}">${HEALTH_ICON[name]} ${esc(h || 'Unknown')}</span>`;
}
function syncBadge(s) {
  const name = SYNC_ICON[s] ? s : 'Unknown';
  return `<span class="sync ${name}">${SYNC_ICON[name]} ${esc(s || 'Unknown')}</span>`;
}
function ago(text) {
  if (!text) return 'never';
  const t = typeof text === 'number' ? text : Date.parse(text);
  if (!Number.isFinite(t)) return esc(text);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
function timeText(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

let toastTimer = 0;
function toast(text, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = isError ? 'toast error' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 10000 : 5000);
}
function banner(text, isError = false) {
  const b = document.getElementById('banner');
  b.hidden = !text;
  b.className = isError ? 'banner error' : 'banner';
  b.textContent = text || '';
}

// ---- the token (kept for this tab's session only) ----

const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || '',
  set(v) {
    if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
    updateTokenButton();
    events.restart();
    render();
  },
};
function updateTokenButton() {
  document.getElementById('token-button').textContent = token.get() ? 'Token ✓ (change)' : 'Enter token';
}
function askToken(reason) {
  const d = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  input.value = '';
  d.querySelector('h2').textContent = reason || 'API token';
  d.showModal();
  input.focus();
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}
async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token.get();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, signal, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body) });
  let doc = null;
  try { doc = await res.json(); } catch { doc = null; }
  if (!res.ok) {
    throw new ApiError(res.status, (doc && doc.error) || `${res.status} ${res.statusText}`, doc && doc.code);
  }
  return doc;
}
// A read that failed for want of a token says so once, and asks for one.
function readFailed(err) {
  if (err.name === 'AbortError') return '';
  if (err.status === 401) {
    banner(token.get() ? `The hub refused this token: ${err.message}` :
      'This hub needs a token to read (it runs without --anonymous-read). Use "Enter token" above.', true);
  }
  return `<p class="muted">Could not load: ${esc(err.message)}</p>`;
}

// A view's first read failed: say so where its data would be (unless the view is gone,
// e.g. the reader navigated away before the answer came).
function showFailure(view, selector, err) {
  if (view.abort.signal.aborted) return;
  const el = main.querySelector(selector);
  if (el) el.innerHTML = readFailed(err);
}

// ---- confirmation and actions ----

function confirmAction(title, text, okLabel) {
  const d = document.getElementById('confirm-dialog');
  d.querySelector('#confirm-title').textContent = title;
  d.querySelector('#confirm-text').textContent = text;
  d.querySelector('#confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  d.querySelector('#confirm-cancel').focus();
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }));
}

// Every action: a token, a confirmation saying what will happen, one call, its answer shown.
// True when the hub did it.
async function act({ title, text, ok, method = 'POST', path, body, done }) {
  if (!token.get()) { askToken('Actions need an admin token'); return false; }
  if (!(await confirmAction(title, text, ok))) return false;
  try {
    const doc = await api(path, { method, body });
    toast(done(doc));
    return true;
  } catch (err) {
    const refused = err.status === 401 || err.status === 403;
    toast(`${refused ? 'Refused' : 'Failed'}: ${err.message}`, true);
    return false;
  }
}

const actions = {
  refresh: () => act({
    title: 'Refresh from Git',
    text: 'The hub fetches the fleet repository and renders every cluster now. Clusters whose ' +
      'rendered content changed get a new bundle; their agents apply it.',
    ok: 'Refresh', path: '/api/v1/sync', body: {},
    done: (d) => `Rendered commit ${short(d.revision)}`,
  }),
  syncApp: (app, clusters) => act({
    title: `Sync ${app}`,
    text: `Ask the agent${clusters.length === 1 ? ` of ${clusters[0]}` : `s of ${clusters.length} clusters`} ` +
      `to sync ${app} to Git's current state now (apply its manifests; no prune unless the app allows it).`,
    ok: 'Sync', path: `/api/v1/apps/${enc(app)}/sync`, body: { clusters },
    done: () => `Sync of ${app} requested on ${clusters.length} cluster${clusters.length === 1 ? '' : 's'}`,
  }),
  rollback: (app, cluster) => act({
    title: `Roll back ${app} on ${cluster}`,
    text: `Re-apply the newest earlier state of ${app} that ${cluster} synced successfully (as argocd app rollback). ` +
      `The hub holds ${app} at that state on ${cluster} and suspends its automated sync there until ${app} ` +
      'changes in Git or someone syncs it. Objects added since are not pruned.',
    ok: 'Roll back', path: `/api/v1/apps/${enc(app)}/rollback`, body: { cluster },
    done: (d) => `Rollback of ${app} on ${cluster} to ${short(d.to?.revision)} (generation ${d.to?.generation ?? '?'}) requested`,
  }),
  allowPrune: (app, cluster) => act({
    title: `Allow prunes of ${app}`,
    text: `Allow the held prunes of ${app} on ${cluster} for 15 minutes: the agent deletes the objects of ${app} ` +
      'that were removed from Git (it deletes only what it created). The hub renders again now.',
    ok: 'Allow prunes', path: '/api/v1/sync', body: { allowPrune: app, cluster },
    done: (d) => `Prunes of ${app} allowed on ${cluster}; rendered ${short(d.revision)}`,
  }),
};

// ---- routing: every view is a URL ----

function route() {
  const p = location.pathname.replace(/\/+$/, '');
  const q = new URLSearchParams(location.search);
  let m;
  if ((m = p.match(/^\/ui\/cluster\/([^/]+)$/))) return { view: 'cluster', name: decodeURIComponent(m[1]), q };
  if ((m = p.match(/^\/ui\/app\/([^/]+)$/))) return { view: 'app', name: decodeURIComponent(m[1]), q };
  if (p === '/ui/history') return { view: 'history', q };
  if ((m = p.match(/^\/ui\/rollouts\/([^/]+)$/))) return { view: 'rollout', nav: 'rollouts', name: decodeURIComponent(m[1]), q };
  if (p === '/ui/rollouts') return { view: 'rollouts', q };
  return { view: 'fleet', q };
}
function navigate(url, replace = false) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname.startsWith('/ui/') || url.pathname === '/')) return;
  if (url.pathname.startsWith('/ui/assets/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
addEventListener('popstate', () => render());

let current = null; // { view, abort, onChange, dispose }
function render() {
  if (current) { current.abort.abort(); current.dispose?.(); }
  const r = route();
  const abort = new AbortController();
  current = { view: r.view, abort };
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.dataset.view === (r.nav || r.view)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  banner('');
  const views = { fleet: fleetView, cluster: clusterView, app: appView, history: historyView,
    rollouts: rolloutsView, rollout: rolloutView };
  views[r.view](r, current);
}

// A reload of the view's data after live changes: at most one running, and
// never closer together than 4x the last one took (1 s at least), so a busy
// fleet cannot make the page hammer the hub; skipped while the tab is hidden.
function reloader(view, load) {
  let running = false, again = false, lastMs = 0, lastEnd = 0, timer = 0, hiddenDirty = false;
  const run = async () => {
    timer = 0;
    if (view.abort.signal.aborted) return;
    if (document.hidden) { hiddenDirty = true; return; }
    running = true;
    const t0 = performance.now();
    try { await load(); } catch (err) {
      if (err.name !== 'AbortError' && !view.abort.signal.aborted) toast(`Update failed: ${err.message}`, true);
    }
    lastMs = performance.now() - t0;
    lastEnd = performance.now();
    running = false;
    if (again) { again = false; schedule(); }
  };
  const schedule = () => {
    if (running) { again = true; return; }
    if (timer) return;
    const gap = Math.max(1000, 4 * lastMs);
    timer = setTimeout(run, Math.max(0, lastEnd + gap - performance.now()));
  };
  const onVisible = () => { if (!document.hidden && hiddenDirty) { hiddenDirty = false; schedule(); } };
  document.addEventListener('visibilitychange', onVisible);
  view.dispose = () => { clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); };
  return schedule;
}

// Keep focus on the "same" element across a re-render (by data-key).
function keepFocus(fn) {
  const key = document.activeElement?.dataset?.key;
  fn();
  if (key) main.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

// ---- label selectors, as kubectl reads them ----

function parseSelector(text) {
  const terms = [];
  let depth = 0, start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if ((c === ',' && depth === 0) || i === text.length) { terms.push(text.slice(start, i).trim()); start = i + 1; }
  }
  const key = '([A-Za-z0-9][-A-Za-z0-9_./]*)';
  const tests = terms.filter((t) => t).map((t) => {
    let m;
    if ((m = t.match(new RegExp(`^${key}\\s+(in|notin)\\s*\\(([^)]*)\\)$`)))) {
      const vals = m[3].split(',').map((v) => v.trim());
      return m[2] === 'in' ? (l) => vals.includes(l[m[1]]) : (l) => !vals.includes(l[m[1]]);
    }
    if ((m = t.match(new RegExp(`^${key}\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`)))) {
      return m[2] === '!=' ? (l) => l[m[1]] !== m[3] : (l) => l[m[1]] === m[3];
    }
    if ((m = t.match(new RegExp(`^!\\s*${key}$`)))) return (l) => !(m[1] in l);
    if ((m = t.match(new RegExp(`^${key}$`)))) return (l) => m[1] in l;
    throw new Error(`cannot read "${t}" (expected k=v, k!=v, k, !k, k in (a,b), k notin (a,b))`);
  });
  return (labels) => tests.every((f) => f(labels || {}));
}

// ---- the fleet view ----

const FLEET_FILTERS = ['name', 'health', 'sync', 'selector'];

function fleetView(r, view) {
  const f = Object.fromEntries(FLEET_FILTERS.map((k) => [k, r.q.get(k) || '']));
  main.innerHTML = `
    <h1>Fleet</h1>
    <p class="muted" id="revision">…</p>
    <div class="counts" id="counts"></div>
    <form class="filters" id="filters" role="search" aria-label="Filter clusters">
      <label>Name <input name="name" value="${esc(f.name)}" placeholder="substring" data-key="f-name"></label>
      <label>Label selector <input name="selector" value="${esc(f.selector)}" placeholder="env=prod,tier in (a,b)" data-key="f-selector"></label>
      <label>Health <select name="health" data-key="f-health"><option value="">any</option>
        ${HEALTH_ORDER.map((h) => `<option${h === f.health ? ' selected' : ''}>${h}</option>`).join('')}</select></label>
      <label>Sync <select name="sync" data-key="f-sync"><option value="">any</option>
        ${SYNC_ORDER.map((s) => `<option${s === f.sync ? ' selected' : ''}>${s}</option>`).join('')}</select></label>
      <button type="button" id="clear">Clear</button>
      <span class="actions-slot" id="fleet-actions"></span>
    </form>
    <p id="shown" class="muted" aria-live="polite"></p>
    <div class="legend" aria-hidden="true">${HEALTH_ORDER.map((h) =>
      `<span><span class="cell h-${h}">${HEALTH_ICON[h]}</span>${h}</span>`).join('')}
      <span><span class="cell h-Healthy oos">${HEALTH_ICON.Healthy}</span>OutOfSync (outlined)</span></div>
    <div class="grid" id="grid" role="grid" aria-label="Clusters, problems first; arrow keys move, Enter opens"></div>
    <div class="heatwrap" id="heatwrap" hidden><canvas id="heat" tabindex="0" role="img"
      aria-label="Heat map of the clusters, problems first. Arrow keys move, Enter opens the cluster." aria-describedby="cell-status"></canvas>
      <p id="cell-status" class="muted" aria-live="polite">Point at a cluster, or focus the map and use the arrow keys.</p></div>
    <h2>Problems</h2>
    <div class="tablewrap" id="problems"></div>
    <p class="kbd">Keys: <kbd>/</kbd> filter by name · arrows move in the grid · <kbd>Enter</kbd> opens a cluster</p>`;
  const form = main.querySelector('#filters');
  let data = null, sorted = [], problemLimit = 50, focusIndex = 0;

  const actionsSlot = main.querySelector('#fleet-actions');
  if (token.get()) {
    actionsSlot.innerHTML = '<button type="button" id="refresh" data-key="refresh">Refresh from Git</button>';
    actionsSlot.querySelector('#refresh').onclick = actions.refresh;
  }

  function readFilters() {
    for (const k of FLEET_FILTERS) f[k] = form.elements[k].value.trim();
    const q = new URLSearchParams();
    for (const k of FLEET_FILTERS) if (f[k]) q.set(k, f[k]);
    const url = `/ui/fleet${q.toString() ? `?${q}` : ''}`;
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
  }
  function matching() {
    let sel = null;
    const input = form.elements.selector;
    try { sel = f.selector ? parseSelector(f.selector) : null; input.setCustomValidity(''); input.title = ''; }
    catch (err) { input.setCustomValidity(err.message); input.title = err.message; sel = null; }
    const name = f.name.toLowerCase();
    return sorted.filter((c) => (!name || c.lname.includes(name)) && (!f.health || c.health === f.health) &&
      (!f.sync || c.sync === f.sync) && (!sel || sel(c.labels)));
  }
  function countsHtml() {
    const n = { health: {}, sync: {} };
    for (const c of sorted) { n.health[c.health] = (n.health[c.health] || 0) + 1; n.sync[c.sync] = (n.sync[c.sync] || 0) + 1; }
    const box = (kind, v, icon) => `<button type="button" class="count" data-kind="${kind}" data-value="${v}" data-key="count-${kind}-${v}"
        aria-pressed="${f[kind] === v}"><b>${n[kind][v] || 0}</b>${icon} ${v}</button>`;
    return `<div class="count" role="status"><b>${sorted.length}</b>clusters</div>` +
      `<div class="count-group" role="group" aria-label="Health"><span>Health</span>${HEALTH_ORDER.map((h) => box('health', h, HEALTH_ICON[h])).join('')}</div>` +
      `<div class="count-group" role="group" aria-label="Sync"><span>Sync</span>${SYNC_ORDER.map((s) => box('sync', s, SYNC_ICON[s])).join('')}</div>`;
  }
  function cellLabel(c) {
    return `${c.name}: ${c.health}, ${c.sync}${c.connected ? '' : c.joined ? ', not connected' : ', not joined'}`;
  }
  // Above this many clusters the grid is a canvas heat map: one draw call per cell instead
  // of one element, so 10,000 redraw within a frame (docs/dashboard.md).
  const HEAT_FROM = 300, CELL = 16, GAP = 2, STEP = CELL + GAP;
  const heat = main.querySelector('#heat'), heatwrap = main.querySelector('#heatwrap');
  const cellStatus = main.querySelector('#cell-status');
  const sprites = new Map();
  let heatShown = [], heatCols = 1;
  function sprite(health, oos) {
    const key = `${health}${oos ? '!' : ''}`;
    if (sprites.has(key)) return sprites.get(key);
    const dpr = window.devicePixelRatio || 1, css = getComputedStyle(document.documentElement);
    const c = document.createElement('canvas');
    c.width = c.height = Math.ceil(CELL * dpr);
    const g = c.getContext('2d');
    g.scale(dpr, dpr);
    g.fillStyle = css.getPropertyValue(`--${health.toLowerCase()}`).trim() || '#6b7280';
    g.beginPath();
    g.roundRect(0, 0, CELL, CELL, 3);
    g.fill();
    if (oos) { g.strokeStyle = css.getPropertyValue('--outofsync').trim(); g.lineWidth = 2; g.strokeRect(1, 1, CELL - 2, CELL - 2); }
    g.fillStyle = '#fff';
    g.font = '10px system-ui, sans-serif';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(HEALTH_ICON[health], CELL / 2, CELL / 2 + 0.5);
    sprites.set(key, c);
    return c;
  }
  function heatCell(g, i, focused) {
    const c = heatShown[i], x = (i % heatCols) * STEP + GAP, y = Math.floor(i / heatCols) * STEP + GAP;
    g.clearRect(x - GAP, y - GAP, STEP + GAP, STEP + GAP);
    g.drawImage(sprite(HEALTH_ICON[c.health] ? c.health : 'Unknown', c.sync === 'OutOfSync'), x, y, CELL, CELL);
    if (focused) {
      g.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--focus').trim() || '#ffbf47';
      g.lineWidth = 2;
      g.strokeRect(x - 1, y - 1, CELL + 2, CELL + 2);
    }
  }
  function drawHeat(shown) {
    heatShown = shown;
    const dpr = window.devicePixelRatio || 1;
    heatCols = Math.max(1, Math.floor((heatwrap.clientWidth - GAP) / STEP));
    const rows = Math.max(1, Math.ceil(shown.length / heatCols));
    heat.style.width = `${heatCols * STEP + GAP}px`;
    heat.style.height = `${rows * STEP + GAP}px`;
    heat.width = Math.ceil((heatCols * STEP + GAP) * dpr);
    heat.height = Math.ceil((rows * STEP + GAP) * dpr);
    const g = heat.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (let i = 0; i < shown.length; i++) heatCell(g, i, false);
    if (document.activeElement === heat && shown.length) heatCell(g, focusIndex, true);
  }
  function heatIndex(e) {
    const r = heat.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left - GAP / 2) / STEP), row = Math.floor((e.clientY - r.top - GAP / 2) / STEP);
    const i = row * heatCols + col;
    return col >= 0 && col < heatCols && i >= 0 && i < heatShown.length ? i : -1;
  }
  function heatFocus(next) {
    const g = heat.getContext('2d');
    if (focusIndex < heatShown.length) heatCell(g, focusIndex, false);
    focusIndex = next;
    heatCell(g, next, true);
    const c = heatShown[next];
    cellStatus.textContent = `${cellLabel(c)} (${next + 1} of ${heatShown.length}); Enter opens it`;
    const top = heat.getBoundingClientRect().top + Math.floor(next / heatCols) * STEP;
    if (top < 0 || top > innerHeight - STEP) scrollBy(0, top - innerHeight / 2);
  }
  heat.addEventListener('mousemove', (e) => {
    const i = heatIndex(e);
    heat.title = i < 0 ? '' : cellLabel(heatShown[i]);
    heat.style.cursor = i < 0 ? 'default' : 'pointer';
    if (i >= 0) cellStatus.textContent = cellLabel(heatShown[i]);
  });
  heat.addEventListener('click', (e) => {
    const i = heatIndex(e);
    if (i >= 0) navigate(`/ui/cluster/${enc(heatShown[i].name)}`);
  });
  heat.addEventListener('focus', () => { if (heatShown.length) heatFocus(Math.min(focusIndex, heatShown.length - 1)); });
  heat.addEventListener('blur', () => { if (focusIndex < heatShown.length) heatCell(heat.getContext('2d'), focusIndex, false); });
  heat.addEventListener('keydown', (e) => {
    if (!heatShown.length) return;
    if (e.key === 'Enter') { navigate(`/ui/cluster/${enc(heatShown[focusIndex].name)}`); return; }
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: heatCols, ArrowUp: -heatCols, PageDown: heatCols * 10, PageUp: -heatCols * 10 };
    let next = focusIndex;
    if (e.key in moves) next += moves[e.key];
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = heatShown.length - 1;
    else return;
    e.preventDefault();
    heatFocus(Math.min(heatShown.length - 1, Math.max(0, next)));
  });
  let resizeFrame = 0;
  const onResize = () => {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(() => { if (!heatwrap.hidden) drawHeat(heatShown); });
  };
  addEventListener('resize', onResize);

  function draw() {
    const t0 = performance.now();
    const shown = matching();
    const big = shown.length <= 60;
    const grid = main.querySelector('#grid');
    const useHeat = shown.length > HEAT_FROM;
    grid.hidden = useHeat;
    heatwrap.hidden = !useHeat;
    const hadFocus = grid.contains(document.activeElement);
    if (focusIndex >= shown.length) focusIndex = Math.max(0, shown.length - 1);
    const parts = new Array(useHeat ? 0 : shown.length);
    for (let i = 0; !useHeat && i < shown.length; i++) {
      const c = shown[i];
      const label = esc(cellLabel(c));
      parts[i] = `<a class="cell h-${HEALTH_ICON[c.health] ? c.health : 'Unknown'}${c.sync === 'OutOfSync' ? ' oos' : ''}" role="gridcell" href="/ui/cluster/${enc(c.name)}" tabindex="${i === focusIndex ? 0 : -1}" aria-label="${label}" title="${label}">${HEALTH_ICON[c.health] || '?'}${big ? ` ${esc(c.name)}` : ''}</a>`;
    }
    if (useHeat) {
      grid.textContent = '';
      drawHeat(shown);
    } else {
      heatShown = [];
      grid.className = big ? 'grid big' : 'grid';
      grid.innerHTML = shown.length ? parts.join('') : '<p class="muted">No cluster matches.</p>';
      if (hadFocus) grid.children[focusIndex]?.focus();
    }
    main.querySelector('#counts').innerHTML = countsHtml();
    main.querySelector('#shown').textContent = `${shown.length} of ${sorted.length} clusters shown, problems first`;
    const problems = shown.filter((c) => c.rank < 5 || c.sync !== 'Synced');
    const rows = problems.slice(0, problemLimit).map((c) => `<tr>
        <td><a href="/ui/cluster/${enc(c.name)}">${esc(c.name)}</a></td><td>${healthBadge(c.health)}</td>
        <td>${syncBadge(c.sync)}</td><td class="hide-narrow">${c.outOfSync} / ${c.apps} apps OutOfSync</td>
        <td class="hide-narrow">${c.connected ? 'connected' : c.joined ? `last seen ${ago(c.lastSeen)}` : 'not joined'}</td>
        <td class="msg">${esc(c.message)}</td></tr>`).join('');
    main.querySelector('#problems').innerHTML = problems.length ? `<table><thead><tr><th>Cluster</th><th>Health</th><th>Sync</th>
        <th class="hide-narrow">Apps</th><th class="hide-narrow">Agent</th><th>Message</th></tr></thead><tbody>${rows}</tbody></table>
        ${problems.length > problemLimit ? `<button type="button" class="more" id="more">Show all ${problems.length} problems</button>` : ''}`
      : '<p class="muted">No problems among the clusters shown.</p>';
    const more = main.querySelector('#more');
    if (more) more.onclick = () => { problemLimit = Infinity; draw(); };
    window.gitfleetTimings = { ...(window.gitfleetTimings || {}), lastDrawMs: performance.now() - t0, shown: shown.length };
  }
  function take(doc) {
    data = doc;
    sorted = doc.clusters.map((c) => ({ ...c, rank: healthRank(c.health), srank: syncRank(c.sync), lname: c.name.toLowerCase() }));
    sorted.sort((a, b) => a.rank - b.rank || a.srank - b.srank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const rev = main.querySelector('#revision');
    rev.innerHTML = data.revision ? `Git commit <code>${esc(short(data.revision))}</code>` +
      (data.error ? ` · <strong>last sync failed:</strong> ${esc(data.error)}` : '') +
      (data.problems?.length ? ` · repository problems: ${esc(data.problems.join('; '))}` : '')
      : (data.error ? `No commit rendered yet: ${esc(data.error)}` : 'No commit rendered yet');
    rev.dataset.revision = data.revision || '';
    keepFocus(draw);
  }
  async function load() {
    const t0 = performance.now();
    const doc = await api('/api/v1/ui/fleet', { signal: view.abort.signal });
    const t1 = performance.now();
    take(doc);
    window.gitfleetTimings = { ...(window.gitfleetTimings || {}), fetchMs: t1 - t0, drawMs: performance.now() - t1, clusters: doc.clusters.length };
    // the first frame with the fleet on screen, from navigation start (bench/dashboard.sh)
    if (!window.gitfleetTimings.firstPaintMs) {
      requestAnimationFrame(() => setTimeout(() => { window.gitfleetTimings.firstPaintMs = performance.now(); }));
    }
  }

  form.addEventListener('input', () => { readFilters(); draw(); });
  form.addEventListener('submit', (e) => e.preventDefault());
  main.querySelector('#clear').onclick = () => { form.reset(); for (const k of FLEET_FILTERS) form.elements[k].value = ''; readFilters(); draw(); };
  main.querySelector('#counts').addEventListener('click', (e) => {
    const b = e.target.closest('button.count');
    if (!b) return;
    const el = form.elements[b.dataset.kind];
    el.value = el.value === b.dataset.value ? '' : b.dataset.value;
    readFilters();
    keepFocus(draw);
  });
  const grid = main.querySelector('#grid');
  grid.addEventListener('keydown', (e) => {
    const cells = grid.children;
    if (!cells.length || cells[0].tagName !== 'A') return;
    const cols = Math.max(1, Math.round(grid.clientWidth / (cells[0].offsetWidth + 2)));
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, PageDown: cols * 10, PageUp: -cols * 10 };
    let next = focusIndex;
    if (e.key in moves) next += moves[e.key];
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = cells.length - 1;
    else return;
    e.preventDefault();
    next = Math.min(cells.length - 1, Math.max(0, next));
    cells[focusIndex]?.setAttribute('tabindex', '-1');
    focusIndex = next;
    cells[next].setAttribute('tabindex', '0');
    cells[next].focus();
  });
  grid.addEventListener('focusin', (e) => {
    const i = Array.prototype.indexOf.call(grid.children, e.target);
    if (i >= 0) focusIndex = i;
  });

  // Live: the rows an event names are read again and patched in (the hub coalesces events
  // to one per 500 ms and sends none for reports that repeat the last one); a new commit,
  // a reconnect or a burst of more than 200 clusters reads the whole fleet. Once a minute
  // everything is read again anyway: "connected" and "last seen" change with time alone.
  const pending = new Set();
  let needAll = false;
  async function refresh() {
    if (needAll || pending.size > 200) {
      needAll = false;
      pending.clear();
      return load();
    }
    if (!pending.size) return;
    const names = [...pending];
    pending.clear();
    const doc = await api(`/api/v1/ui/fleet?names=${enc(names.join(','))}`, { signal: view.abort.signal });
    const byName = new Map(data.clusters.map((c) => [c.name, c]));
    for (const c of doc.clusters) byName.set(c.name, c);
    for (const n of doc.removed || []) byName.delete(n);
    take({ ...data, revision: doc.revision, error: doc.error, problems: doc.problems, clusters: [...byName.values()] });
  }
  const reload = reloader(view, refresh);
  const minute = setInterval(() => { needAll = true; reload(); }, 60000);
  const disposeReload = view.dispose;
  view.dispose = () => { disposeReload(); clearInterval(minute); removeEventListener('resize', onResize); };
  view.onChange = (ev) => {
    if (ev.all || ev.passChanged || !data) needAll = true;
    else for (const n of ev.clusters) pending.add(n);
    reload();
  };
  load().catch((err) => showFailure(view, '#grid', err));
}

// ---- the cluster view ----

function driftHtml(res) {
  const d = res.drift || [];
  if (!d.length) return res.health === 'Missing' ? '<div class="drift">(missing from the cluster)</div>' : '';
  return `<div class="drift">${d.map((x) => (x.desired === undefined && x.live === undefined)
    ? `${esc(x.path)}: differs (value hidden)`
    : `${esc(x.path)}: <span class="del">Git ${esc(x.desired || '(absent)')}</span>, <span class="add">live ${esc(x.live || '(absent)')}</span>`).join('\n')}</div>`;
}
function operationText(a) {
  const op = a.operationState;
  if (op && op.phase) return `${op.kind || 'sync'} ${op.phase}${op.message ? `: ${op.message}` : ''}`;
  return a.operation || '';
}

function clusterView(r, view) {
  const name = r.name;
  main.innerHTML = `<h1>Cluster ${esc(name)}</h1><div id="cluster">Loading…</div>`;
  async function load() {
    const doc = await api(`/api/v1/status/${enc(name)}`, { signal: view.abort.signal });
    const c = doc.clusters[0];
    const canAct = !!token.get();
    const apps = [...c.apps].sort((a, b) => healthRank(a.health) - healthRank(b.health) ||
      syncRank(a.sync) - syncRank(b.sync) || a.name.localeCompare(b.name));
    const html = `
      <dl class="kv">
        <dt>Health</dt><dd id="cluster-health">${healthBadge(c.health)}</dd>
        <dt>Agent</dt><dd>${c.connected ? 'connected' : c.joined ? 'not connected' : 'not joined'} · last seen ${ago(c.lastSeen)}</dd>
        <dt>Applied</dt><dd>commit <code>${esc(short(c.revision)) || '—'}</code> · generation ${c.generation.applied} of ${c.generation.desired}</dd>
        <dt>Git</dt><dd>commit <code>${esc(short(doc.revision))}</code>${doc.error ? ` · last sync failed: ${esc(doc.error)}` : ''}</dd>
        ${c.message ? `<dt>Message</dt><dd>${esc(c.message)}</dd>` : ''}
        <dt>Links</dt><dd><a href="/ui/history?cluster=${enc(name)}">history of ${esc(name)}</a></dd>
      </dl>
      ${canAct ? '' : '<p class="muted">Read-only: enter an admin token to sync or roll back apps, or allow held prunes.</p>'}
      <h2>Apps (${apps.length})</h2>
      ${apps.length ? '' : '<p class="muted">Git gives this cluster no app.</p>'}
      ${apps.map((a) => `<section class="app-card" data-app="${esc(a.name)}" aria-label="app ${esc(a.name)}">
        <header><h3><a href="/ui/app/${enc(a.name)}">${esc(a.name)}</a></h3>
          <span class="app-health">${healthBadge(a.health)}</span><span class="app-sync">${syncBadge(a.sync)}</span>
          <span class="muted">commit <code>${esc(short(a.revision)) || '—'}</code></span>
          ${operationText(a) ? `<span class="muted">operation: ${esc(operationText(a))}</span>` : ''}
          ${a.rolledBack ? `<span class="badge h-Suspended">⟲ rolled back to <code>${esc(short(a.rolledBack.revision))}</code></span>` : ''}
          ${a.autoSyncSuspended ? '<span class="muted">auto-sync suspended</span>' : ''}
          ${(a.pendingOperations || []).length ? `<span class="muted">${a.pendingOperations.length} operation(s) pending</span>` : ''}
          ${canAct ? `<span class="actions"><button type="button" data-act="sync" data-key="sync-${esc(a.name)}">Sync</button>
            <button type="button" data-act="rollback" data-key="rollback-${esc(a.name)}">Roll back</button>
            <button type="button" data-act="prune" data-key="prune-${esc(a.name)}">Allow prunes</button></span>` : ''}
        </header>
        ${a.message ? `<p class="msg">${esc(a.message)}</p>` : ''}
        ${(a.resources || []).length ? `<div class="tablewrap"><table><thead><tr><th>Kind</th><th>Namespace/Name</th><th>Sync</th><th>Health</th><th>Message and drift</th></tr></thead><tbody>
          ${a.resources.map((x) => `<tr><td>${esc(x.kind)}</td><td>${esc(x.namespace ? `${x.namespace}/` : '')}${esc(x.name)}</td>
            <td>${syncBadge(x.sync)}</td><td>${healthBadge(x.health)}</td><td class="msg">${esc(x.message)}${driftHtml(x)}</td></tr>`).join('')}
          </tbody></table></div>` : '<p class="muted">No objects reported yet.</p>'}
      </section>`).join('')}`;
    keepFocus(() => { main.querySelector('#cluster').innerHTML = html; });
  }
  main.addEventListener('click', onClick);
  function onClick(e) {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const app = b.closest('[data-app]').dataset.app;
    if (b.dataset.act === 'sync') actions.syncApp(app, [name]);
    else if (b.dataset.act === 'rollback') actions.rollback(app, name);
    else actions.allowPrune(app, name);
  }
  const reload = reloader(view, load);
  const prevDispose = view.dispose;
  const minute = setInterval(reload, 60000); // "last seen" moves with time alone
  view.dispose = () => { prevDispose(); clearInterval(minute); main.removeEventListener('click', onClick); };
  view.onChange = (ev) => { if (ev.all || ev.passChanged || ev.clusters.includes(name)) reload(); };
  load().catch((err) => showFailure(view, '#cluster', err));
}

// ---- one app across the fleet ----

function appView(r, view) {
  const name = r.name;
  main.innerHTML = `<h1>App ${esc(name)} across the fleet</h1><div id="app">Loading…</div>`;
  let rows = [];
  async function load() {
    const doc = await api(`/api/v1/ui/apps/${enc(name)}`, { signal: view.abort.signal });
    rows = doc.clusters.sort((a, b) => healthRank(a.health) - healthRank(b.health) ||
      syncRank(a.sync) - syncRank(b.sync) || a.cluster.localeCompare(b.cluster));
    const byRev = new Map();
    for (const c of rows) byRev.set(c.revision || '', (byRev.get(c.revision || '') || 0) + 1);
    const count = (k, v) => rows.filter((c) => c[k] === v).length;
    const outOfSync = rows.filter((c) => c.sync !== 'Synced').map((c) => c.cluster);
    const html = `
      <p>Git is at commit <code>${esc(short(doc.revision))}</code>. ${rows.length} cluster${rows.length === 1 ? '' : 's'} run ${esc(name)}:
        ${count('sync', 'OutOfSync')} OutOfSync, ${count('health', 'Degraded')} Degraded, ${count('health', 'Progressing')} Progressing.</p>
      ${doc.appset ? `<p id="app-appset">Generated by ApplicationSet <b>${esc(doc.appset)}</b>${doc.rolling
        ? `, which rolls out step by step: <a href="/ui/rollouts/${enc(doc.appset)}">rollout of ${esc(doc.appset)}</a>`
        : ' (all clusters at once)'}.</p>` : ''}
      <h2>Revisions</h2>
      <ul>${[...byRev].sort((a, b) => b[1] - a[1]).map(([rev, n]) =>
        `<li><code>${esc(short(rev)) || '(none applied)'}</code>${rev === doc.revision ? ' (Git now)' : ''}: ${n} cluster${n === 1 ? '' : 's'}</li>`).join('')}</ul>
      ${token.get() && outOfSync.length ? `<p><button type="button" id="sync-oos" data-key="sync-oos">Sync on the ${outOfSync.length} cluster${outOfSync.length === 1 ? '' : 's'} not Synced</button></p>` : ''}
      <h2>Clusters</h2>
      <div class="tablewrap"><table><thead><tr><th>Cluster</th><th>Sync</th><th>Health</th><th>Revision</th><th class="hide-narrow">Operation</th><th>Message</th></tr></thead><tbody>
      ${rows.map((c) => `<tr><td><a href="/ui/cluster/${enc(c.cluster)}">${esc(c.cluster)}</a></td><td>${syncBadge(c.sync)}</td>
        <td>${healthBadge(c.health)}</td><td><code>${esc(short(c.revision))}</code>${c.revision && c.revision === doc.revision ? '' : c.revision ? ' (behind)' : ''}</td>
        <td class="hide-narrow">${esc(operationText(c))}</td><td class="msg">${esc(c.message)}</td></tr>`).join('')}
      </tbody></table></div>
      <p><a href="/ui/history?app=${enc(name)}">History of ${esc(name)}</a></p>`;
    keepFocus(() => { main.querySelector('#app').innerHTML = html; });
    const b = main.querySelector('#sync-oos');
    if (b) b.onclick = () => actions.syncApp(name, outOfSync);
  }
  const reload = reloader(view, load);
  view.onChange = () => reload();
  load().catch((err) => showFailure(view, '#app', err));
}

// ---- history ----

function historyView(r, view) {
  const cluster = r.q.get('cluster') || '', app = r.q.get('app') || '';
  main.innerHTML = `<h1>History</h1>
    <form class="filters" id="hfilters" aria-label="Filter history">
      <label>Cluster <input name="cluster" value="${esc(cluster)}" data-key="h-cluster"></label>
      <label>App <input name="app" value="${esc(app)}" data-key="h-app"></label>
      <button type="submit">Show</button></form>
    <p class="muted">Sync results, newest first (the last 200).</p><div id="history" class="tablewrap">Loading…</div>`;
  main.querySelector('#hfilters').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const k of ['cluster', 'app']) { const v = e.target.elements[k].value.trim(); if (v) q.set(k, v); }
    navigate(`/ui/history${q.toString() ? `?${q}` : ''}`);
  });
  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    if (cluster) q.set('cluster', cluster);
    if (app) q.set('app', app);
    const doc = await api(`/api/v1/history?${q}`, { signal: view.abort.signal });
    const rows = doc.history;
    main.querySelector('#history').innerHTML = rows.length ? `<table><thead><tr><th>Time (UTC)</th><th>Cluster</th><th>App</th>
      <th class="hide-narrow">Generation</th><th>Revision</th><th>Result</th><th>Message</th></tr></thead><tbody>
      ${rows.map((h) => `<tr><td>${esc(timeText(h.time))}</td><td><a href="/ui/cluster/${enc(h.cluster)}">${esc(h.cluster)}</a></td>
        <td><a href="/ui/app/${enc(h.app)}">${esc(h.app)}</a></td><td class="hide-narrow">${h.generation}</td>
        <td><code>${esc(short(h.revision))}</code></td><td>${esc(h.result)}</td><td class="msg">${esc(h.message)}</td></tr>`).join('')}
      </tbody></table>` : '<p class="muted">No sync results yet.</p>';
  }
  const reload = reloader(view, load);
  view.onChange = (ev) => { if (ev.all || ev.clusters.length) reload(); };
  load().catch((err) => showFailure(view, '#history', err));
}

// ---- rollouts (docs/rollouts.md): the list, one rollout's steps, and its actions ----

const PHASE_LOOK = { // phase: [colour class, icon]
  Progressing: ['Progressing', '↻'], Paused: ['Suspended', '‖'], Halted: ['Degraded', '✕'],
  Completed: ['Healthy', '✓'], RolledBack: ['Missing', '⟲'], Aborted: ['Unknown', '■'], Superseded: ['Unknown', '»'],
};
// A target's engine state, as a person reads it: [word, colour class, icon].
const TARGET_LOOK = {
  Waiting: ['waiting', 'Unknown', '○'], Pending: ['waiting', 'Unknown', '○'], Manual: ['waiting', 'Missing', '!'],
  Updating: ['syncing', 'Progressing', '↻'], Baking: ['healthy', 'Healthy', '✓'], Done: ['healthy', 'Healthy', '✓'],
  Failed: ['failed', 'Degraded', '✕'], RolledBack: ['rolled back', 'Suspended', '⟲'],
};
const RELEASED = ['Updating', 'Baking', 'Done', 'Failed'];
const ACTIVE_PHASES = ['Progressing', 'Paused', 'Halted'];

function phaseBadge(p) {
  const [cls, icon] = PHASE_LOOK[p] || ['Unknown', '?'];
  return `<span class="badge h-${cls}">${icon} ${esc(p)}</span>`;
}
function targetBadge(state) {
  const [word, cls, icon] = TARGET_LOOK[state] || ['unknown', 'Unknown', '?'];
  return `<span class="badge h-${cls}" title="${esc(state)}">${icon} ${word}</span>`;
}
function dur(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
function someNames(list, max = 5) {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

// The hub's clock, as the last answer gave it (countdowns do not trust the browser's clock).
let clockSkew = 0;
const hubNow = () => Date.now() + clockSkew;
function learnClock(doc) { if (Number.isFinite(doc.nowMs)) clockSkew = doc.nowMs - Date.now(); }

// A live timer: counts down to data-until ("4m 12s left", then `done`), or up from
// data-since; ticked once a second by the view (no request: the hub sends an event when the
// rollout moves).
const countdownText = (left, done) => (left > 0 ? `${dur(left)} left` : done);
const countdown = (until, done) =>
  `<span class="timer" data-until="${until}" data-done="${esc(done)}">${esc(countdownText(until - hubNow(), done))}</span>`;
const countup = (since) => `<span class="timer" data-since="${since}">${dur(hubNow() - since)}</span>`;
const agoLive = (ms) => `<span data-ago="${ms}" title="${esc(timeText(ms))}">${esc(ago(ms - clockSkew))}</span>`;
function tickTimers() {
  const now = hubNow();
  for (const t of main.querySelectorAll('.timer')) {
    if (t.dataset.until) {
      t.textContent = countdownText(Number(t.dataset.until) - now, t.dataset.done);
    } else if (t.dataset.since) {
      t.textContent = dur(now - Number(t.dataset.since));
    }
  }
  for (const t of main.querySelectorAll('[data-ago]')) t.textContent = ago(Number(t.dataset.ago) - clockSkew);
}
function ticking(view) {
  const timer = setInterval(tickTimers, 1000);
  const before = view.dispose;
  view.dispose = () => { before?.(); clearInterval(timer); };
}

// The current step's progress deadline: a countdown, frozen while paused (the hub shifts it
// by the pause on resume).
function deadlineHtml(r, gate) {
  if (!gate || gate.deadlineMs <= 0) return '';
  const end = r.stepStartedMs + gate.deadlineMs;
  if (r.phase === 'Paused') return `${dur(end - r.pausedMs)} left, stopped while paused`;
  if (r.phase !== 'Progressing') return '';
  return countdown(end, 'passed');
}

// The rollout's one-line state for the list (no targets there, the step's counts).
function rolloutLine(r) {
  if (r.phase === 'Paused') return `${esc(r.message)} · paused for ${countup(r.pausedMs)}`;
  if (r.phase !== 'Progressing') {
    return `${esc(r.message)}${r.finishedMs ? ` · ${r.phase === 'Halted' ? 'halted' : 'ended'} ${agoLive(r.finishedMs)}` : ''}`;
  }
  const g = r.stepGates?.[r.step - 1];
  if (!g) return esc(r.waitingFor);
  const n = (...states) => states.reduce((sum, s) => sum + (r.stepStates?.[s] || 0), 0);
  const parts = [`${n('Done')} of ${g.targets} done`];
  if (n('Updating')) parts.push(`${n('Updating')} syncing`);
  if (n('Baking')) parts.push(`${n('Baking')} baking`);
  if (n('Waiting', 'Pending', 'Manual')) parts.push(`${n('Waiting', 'Pending', 'Manual')} waiting`);
  if (n('Failed')) parts.push(`${n('Failed')} failed`);
  const deadline = n('Updating', 'Waiting', 'Pending') ? deadlineHtml(r, g) : '';
  return `step ${r.step}: ${parts.join(', ')}${r.stepBakeEndsMs ? ` · bake: ${countdown(r.stepBakeEndsMs, 'ending')}` : ''}` +
    `${deadline ? ` · deadline: ${deadline}` : ''}`;
}

function rolloutsView(r, view) {
  main.innerHTML = `<h1>Rollouts</h1>
    <p class="muted">Progressive rollouts of RollingSync ApplicationSets: active first, then the newest ended.</p>
    <div id="rollouts" class="tablewrap">Loading…</div>`;
  async function load() {
    const doc = await api('/api/v1/ui/rollouts', { signal: view.abort.signal });
    learnClock(doc);
    const rows = doc.rollouts;
    const seen = new Set(); // the first row of a set is its newest rollout, the one /ui/rollouts/APPSET shows
    const nameCell = (x) => (seen.has(x.appset) ? `${esc(x.appset)} <span class="muted">(earlier)</span>`
      : (seen.add(x.appset), `<a href="/ui/rollouts/${enc(x.appset)}">${esc(x.appset)}</a>`));
    const html = rows.length ? `<table><thead><tr><th>ApplicationSet</th><th>Phase</th><th>Step</th>
      <th class="hide-narrow">Clusters</th><th class="hide-narrow">Revision</th><th class="hide-narrow">Started</th><th>State</th></tr></thead><tbody>
      ${rows.map((x) => `<tr data-appset="${esc(x.appset)}"><td>${nameCell(x)}</td>
        <td>${phaseBadge(x.phase)}</td><td>${x.step} of ${x.steps}</td>
        <td class="hide-narrow">${x.targetStates.Done || 0} of ${x.targetCount} done${x.targetStates.Failed ? `, ${x.targetStates.Failed} failed` : ''}</td>
        <td class="hide-narrow"><code>${esc(short(x.revision))}</code></td>
        <td class="hide-narrow">${agoLive(x.startedMs)}</td><td class="state">${rolloutLine(x)}</td></tr>`).join('')}
      </tbody></table>` : '<p class="muted">No rollout yet. A change to the apps of an ApplicationSet whose ' +
      '<code>spec.strategy.type</code> is <code>RollingSync</code> starts one.</p>';
    keepFocus(() => { main.querySelector('#rollouts').innerHTML = html; });
  }
  const reload = reloader(view, load);
  ticking(view);
  view.onRollout = () => reload();
  view.onChange = (ev) => { if (ev.all) reload(); };
  load().catch((err) => showFailure(view, '#rollouts', err));
}

// ---- one rollout ----

// What the current step waits for, in words, with its live timers.
function stepWaits(r, gate, ts) {
  const by = (...states) => ts.filter((t) => states.includes(t.state));
  const clusters = (list) => `${plural(list.length, 'cluster')} (${esc(someNames(list.map((t) => t.cluster)))})`;
  const parts = [];
  if (r.phase === 'Paused') parts.push(`an operator to resume it (paused for ${countup(r.pausedMs)})`);
  if (r.phase === 'Halted') parts.push('an operator: Resume follows the failed clusters again, Abort holds everything back');
  const manual = by('Manual'), updating = by('Updating'), pending = by('Pending', 'Waiting'), baking = by('Baking');
  if (updating.length) parts.push(`${clusters(updating)} to be Synced and Healthy at the new revision`);
  if (pending.length) parts.push(`a free slot for ${clusters(pending)} (at most ${esc(gate.maxUpdate)} syncing at once)`);
  if (manual.length) parts.push(`an operator to sync ${clusters(manual)} (maxUpdate ${esc(gate.maxUpdate)})`);
  if (baking.length) parts.push(`${clusters(baking)} to finish the ${dur(gate.bakeMs)} bake`);
  return parts.length ? parts.join('; ') : 'nothing: the hub moves on at its next tick';
}

// The step's timers: the bake still to go (its longest) and the progress deadline.
function stepTimers(r, gate, ts) {
  const out = [];
  const baking = ts.filter((t) => t.state === 'Baking' && t.healthySinceMs);
  if (r.promoted) out.push('bake: skipped (promoted)');
  else if (baking.length) out.push(`bake: ${countdown(Math.max(...baking.map((t) => t.healthySinceMs + gate.bakeMs)), 'ending')}`);
  if (ts.some((t) => ['Updating', 'Pending', 'Waiting'].includes(t.state))) {
    const d = deadlineHtml(r, gate);
    if (d) out.push(`progress deadline: ${d}`);
  }
  return out.join(' · ');
}

function targetDetail(r, t, gate) {
  const ended = !ACTIVE_PHASES.includes(r.phase);
  if (ended && ['Waiting', 'Pending', 'Manual'].includes(t.state)) return 'never released: kept its old state';
  if (ended && t.state === 'Baking') return 'Synced and Healthy; the rollout ended before its bake did';
  if (ended && t.state === 'Updating') return 'released; the rollout ended before it was Synced and Healthy';
  switch (t.state) {
    case 'Baking': return r.promoted ? 'bake skipped (promoted)' : `baking: ${countdown(t.healthySinceMs + (gate?.bakeMs || 0), 'ending')}`;
    case 'Updating': return `released ${agoLive(t.releasedMs)}${t.message ? `: ${esc(t.message)}` : ''}`;
    case 'Done': return 'done: Synced, Healthy and baked at the new revision';
    case 'Waiting': return t.step > 0 ? `held until step ${t.step} starts` : 'held';
    case 'Pending': return 'its step runs: waits for a free slot';
    case 'Manual': return `waits for an operator: <code>gitfleet sync ${esc(t.app)} --cluster ${esc(t.cluster)}</code>`;
    case 'RolledBack': return 'held at its state from before the rollout';
    default: return esc(t.message);
  }
}

// One step: gates, state, timers, what it waits for, and its clusters.
function stepHtml(r, gate, ts, n) {
  const active = ACTIVE_PHASES.includes(r.phase);
  const current = gate && gate.step === r.step && r.phase !== 'Completed';
  const heldBack = ts.some((t) => t.state === 'RolledBack');
  const state = !gate ? 'no step selects these: they wait for a manual sync and never block the rollout'
    : r.phase === 'Completed' || gate.step < r.step ? (heldBack ? 'complete, then held back' : 'complete')
      : current ? (active ? 'current step' : `stopped here (${esc(r.phase)})`) : active ? `after step ${gate.step - 1}` : 'not reached';
  const gates = gate ? `maxUpdate ${esc(gate.maxUpdate)} · bake ${dur(gate.bakeMs)} · deadline ${dur(gate.deadlineMs)} · tolerates ${esc(gate.maxFailures)} failed` : '';
  const shown = ts.slice(0, 200);
  return `<section class="step-card${current ? ' current' : ''}" data-step="${gate ? gate.step : 0}" aria-label="${gate ? `step ${gate.step} of ${n}` : 'no step'}">
    <header><h3>${gate ? `Step ${gate.step} of ${n}` : 'No step'}</h3><span class="step-state">${current && active ? '<span aria-hidden="true">▶ </span>' : ''}${state}</span>
      <span class="muted">${plural(ts.length, 'cluster')}${gates ? ` · ${gates}` : ''}</span></header>
    ${current && active ? `<p class="timers">${stepTimers(r, gate, ts) || 'no timer running'}</p>
      <p class="waits"><b>Waits for</b> ${stepWaits(r, gate, ts)}</p>` : ''}
    ${ts.length ? `<div class="tablewrap"><table><thead><tr><th>Cluster</th><th class="hide-narrow">App</th><th>State</th><th>Detail</th></tr></thead><tbody>
      ${shown.map((t) => `<tr data-cluster="${esc(t.cluster)}" data-state="${esc(t.state)}"><td><a href="/ui/cluster/${enc(t.cluster)}">${esc(t.cluster)}</a></td>
        <td class="hide-narrow"><a href="/ui/app/${enc(t.app)}">${esc(t.app)}</a></td><td>${targetBadge(t.state)} <span class="muted">${esc(t.state)}</span></td>
        <td class="msg">${targetDetail(r, t, gate)}</td></tr>`).join('')}
      </tbody></table></div>${ts.length > shown.length ? `<p class="muted">and ${ts.length - shown.length} more clusters</p>` : ''}`
      : '<p class="muted">No cluster changed in this step.</p>'}
  </section>`;
}

// The confirmations: what each verb will do to this rollout, in its own numbers (docs/rollouts.md).
function rolloutConfirm(verb, r) {
  const a = r.appset, at = `step ${r.step} of ${r.steps}`, gate = r.stepGates[r.step - 1];
  const ts = r.targets;
  const released = ts.filter((t) => RELEASED.includes(t.state) && t.step > 0);
  const list = (xs) => `${plural(xs.length, 'cluster')}${xs.length ? ` (${someNames(xs.map((t) => t.cluster))})` : ''}`;
  const deadlineLeft = gate ? r.stepStartedMs + gate.deadlineMs - (r.phase === 'Paused' ? r.pausedMs : hubNow()) : 0;
  if (verb === 'pause') {
    return `Pause the rollout of ${a} (commit ${short(r.revision)}) at ${at}: the hub releases no more clusters and ` +
      `the step's progress deadline stops (${dur(deadlineLeft)} left, kept for the resume). The ${list(released)} ` +
      `already released ${released.length === 1 ? 'keeps' : 'keep'} the new revision and ${released.length === 1 ? 'goes' : 'go'} ` +
      'on syncing and baking; nothing is rolled back. Resume goes on from here.';
  }
  if (verb === 'resume' && r.phase === 'Halted') {
    const failed = ts.filter((t) => t.state === 'Failed');
    return `Resume the halted rollout of ${a} at ${at}: the ${list(failed)} that failed ${failed.length === 1 ? 'is' : 'are'} followed again from ` +
      `where ${failed.length === 1 ? 'it is' : 'they are'}, and the step gets a fresh ${dur(gate?.deadlineMs || 0)} progress deadline. If more fail than the ` +
      `step tolerates, the failure policy (${r.failurePolicy}) applies again.`;
  }
  if (verb === 'resume') {
    return `Resume the rollout of ${a} at ${at}: the hub releases the step's waiting clusters again (at most ` +
      `${gate?.maxUpdate} syncing at once) and goes on through the remaining steps as their gates allow; the progress ` +
      `deadline counts on from ${dur(deadlineLeft)} left.`;
  }
  if (verb === 'promote') {
    const mine = ts.filter((t) => t.step === r.step);
    const next = ts.filter((t) => t.step === r.step + 1);
    const then = r.step < r.steps ? `then step ${r.step + 1} (${list(next)}) starts` : 'then the rollout completes';
    return `Promote ${at} of ${a}: its ${list(mine)} skip the rest of the ${dur(gate?.bakeMs || 0)} bake and count as ` +
      `done as soon as Synced and Healthy at commit ${short(r.revision)}; ${then}` +
      `${r.phase === 'Paused' ? ' once the rollout is resumed (it stays paused)' : ''}. Nothing is rolled back.`;
  }
  const held = ts.length - released.length - ts.filter((t) => t.state === 'RolledBack').length;
  return `Abort the rollout of ${a} to commit ${short(r.revision)}: ` +
    (released.length ? `the ${list(released)} already released to it are held back at the state each had before ` +
      'this rollout, and their agents go back to it' : 'no cluster has been released yet, so nothing is rolled back') +
    `; the ${plural(held, 'other cluster')} ${held === 1 ? 'keeps its' : 'keep their'} old state. The rollout ends as Aborted and cannot be resumed; ` +
    'its clusters stay held until Git changes the app again (a new rollout starts) or someone syncs one by hand.';
}

const ROLLOUT_VERBS = { // verb: [button label, phases that allow it]
  pause: ['Pause', ['Progressing']], resume: ['Resume', ['Paused', 'Halted']],
  promote: ['Promote step', ['Progressing', 'Paused']], abort: ['Abort', ['Progressing', 'Paused', 'Halted']],
};

function rolloutAction(verb, r) {
  return act({
    title: `${ROLLOUT_VERBS[verb][0]}: rollout of ${r.appset}`,
    text: rolloutConfirm(verb, r),
    ok: ROLLOUT_VERBS[verb][0],
    path: `/api/v1/rollouts/${enc(r.appset)}/${verb}`,
    done: (d) => `Rollout of ${r.appset}: ${d.phase}, step ${d.step} of ${d.steps}`,
  });
}

function rolloutView(r, view) {
  const name = r.name;
  main.innerHTML = `<h1>Rollout of ${esc(name)}</h1><div id="rollout">Loading…</div>`;
  let ro = null;
  async function load() {
    const doc = await api(`/api/v1/ui/rollouts/${enc(name)}`, { signal: view.abort.signal });
    learnClock(doc);
    ro = doc.rollout;
    const active = ACTIVE_PHASES.includes(ro.phase);
    const verbs = token.get() ? Object.entries(ROLLOUT_VERBS).filter(([, [, phases]]) => phases.includes(ro.phase)) : [];
    const byStep = new Map();
    for (const t of ro.targets) { if (!byStep.has(t.step)) byStep.set(t.step, []); byStep.get(t.step).push(t); }
    const html = `
      <dl class="kv">
        <dt>Phase</dt><dd id="rollout-phase">${phaseBadge(ro.phase)}</dd>
        <dt>Step</dt><dd id="rollout-step">${ro.step} of ${ro.steps}</dd>
        <dt>Revision</dt><dd>commit <code>${esc(short(ro.revision))}</code></dd>
        <dt>Started</dt><dd>${esc(timeText(ro.startedMs))} (${agoLive(ro.startedMs)})</dd>
        ${ro.finishedMs && !active ? `<dt>Ended</dt><dd>${esc(timeText(ro.finishedMs))} (${agoLive(ro.finishedMs)})</dd>` : ''}
        <dt>On failure</dt><dd>${ro.failurePolicy === 'rollback' ? 'roll back the failed step and the earlier ones' : 'halt (released clusters keep the new revision)'}</dd>
        ${ro.message ? `<dt>Message</dt><dd id="rollout-message">${esc(ro.message)}</dd>` : ''}
        <dt>Links</dt><dd><a href="/ui/rollouts">every rollout</a></dd>
      </dl>
      ${verbs.length ? `<p class="actions" id="rollout-actions">${verbs.map(([v, [label]]) =>
        `<button type="button" data-verb="${v}" data-key="verb-${v}">${label}</button>`).join(' ')}</p>`
        : token.get() || !active ? '' : '<p class="muted">Read-only: enter an admin token to pause, resume, promote or abort this rollout.</p>'}
      <h2>Steps</h2>
      ${ro.stepGates.map((g) => stepHtml(ro, g, byStep.get(g.step) || [], ro.steps)).join('')}
      ${byStep.has(0) ? stepHtml(ro, null, byStep.get(0), ro.steps) : ''}`;
    keepFocus(() => { main.querySelector('#rollout').innerHTML = html; });
  }
  async function onClick(e) {
    const b = e.target.closest('button[data-verb]');
    if (!b || !ro) return;
    if (await rolloutAction(b.dataset.verb, ro)) reload();
  }
  main.addEventListener('click', onClick);
  const reload = reloader(view, load);
  ticking(view);
  const before = view.dispose;
  view.dispose = () => { before(); main.removeEventListener('click', onClick); };
  view.onRollout = (ev) => { if (ev.all || ev.appsets.includes(name)) reload(); };
  view.onChange = (ev) => { if (ev.all) reload(); };
  load().catch((err) => showFailure(view, '#rollout', err));
}

// ---- live updates: /api/v1/events (server-sent events over fetch, so the token goes in a header) ----

const events = (() => {
  const live = document.getElementById('live');
  let abort = null, backoff = 1000, watchdog = 0, retryTimer = 0, revision = null;
  const set = (cls, text) => { live.className = `live ${cls}`; live.textContent = text; };

  function dispatch(name, data) {
    let doc;
    try { doc = JSON.parse(data); } catch { return; }
    if (name === 'rollout') { // ApplicationSets whose rollout changed; views that show none ignore it
      window.gitfleetEvents = (window.gitfleetEvents || 0) + 1;
      current?.onRollout?.({ appsets: doc.rollouts || [], all: !!doc.all });
      return;
    }
    const passChanged = revision !== null && doc.revision !== revision;
    const first = revision === null;
    revision = doc.revision;
    if (name === 'hello') { backoff = 1000; set('on', 'live'); if (first) return; }
    window.gitfleetEvents = (window.gitfleetEvents || 0) + 1;
    current?.onChange?.({ clusters: doc.clusters || [], all: !!doc.all || name === 'hello', passChanged, revision: doc.revision });
  }
  function parse(buffer) {
    let at;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) dispatch(name, data.join('\n'));
    }
    return buffer;
  }
  // The hub writes at least every 15 s; 40 s of silence means the link is dead.
  function arm() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => abort?.abort(), 40000);
  }
  async function connect() {
    retryTimer = 0;
    abort = new AbortController();
    const mine = abort;
    const headers = { Accept: 'text/event-stream' };
    if (token.get()) headers.Authorization = `Bearer ${token.get()}`;
    set('', 'connecting…');
    try {
      const res = await fetch('/api/v1/events', { headers, signal: mine.signal, cache: 'no-store' });
      if (!res.ok) throw new ApiError(res.status, `${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      arm();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        buffer = parse(buffer + value);
        if (buffer.length > 1 << 20) break; // a runaway event: reconnect rather than grow
      }
    } catch (err) {
      if (err.status === 401) { set('off', 'not live (token needed)'); clearTimeout(watchdog); return; }
    }
    clearTimeout(watchdog);
    if (mine !== abort) return; // restarted meanwhile
    set('off', `reconnecting in ${Math.round(backoff / 1000)} s`);
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 30000);
  }
  function stop() {
    clearTimeout(retryTimer);
    clearTimeout(watchdog);
    const a = abort;
    abort = null;
    a?.abort();
    set('off', 'paused');
  }
  return {
    start: connect,
    stop,
    stopped: () => abort === null,
    // a fresh stream: its hello makes the view read everything again (events were missed)
    restart() { stop(); revision = null; backoff = 1000; connect(); },
  };
})();

// A browser holds 6 connections per host over HTTP/1.1, and each open page keeps one for
// its events: a page in the back/forward cache or a tab hidden for 30 s lets its stream
// go, and takes a fresh one (and reloads its view) when it is shown again.
let hiddenTimer = 0;
addEventListener('pagehide', () => events.stop());
addEventListener('pageshow', (e) => { if (e.persisted) events.restart(); });
document.addEventListener('visibilitychange', () => {
  clearTimeout(hiddenTimer);
  if (document.hidden) hiddenTimer = setTimeout(() => events.stop(), 30000);
  else if (events.stopped()) events.restart();
});

// ---- start ----

document.getElementById('token-button').onclick = () => askToken();
document.getElementById('token-cancel').onclick = () => document.getElementById('token-dialog').close();
document.getElementById('token-forget').onclick = () => { document.getElementById('token-dialog').close(); token.set(''); toast('Token forgotten'); };
document.getElementById('token-form').addEventListener('submit', (e) => {
  const v = document.getElementById('token-input').value.trim();
  if (!v) { e.preventDefault(); return; }
  token.set(v);
  toast('Token kept for this tab');
});
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement?.tagName) && !document.querySelector('dialog[open]')) {
    const f = main.querySelector('input[name="name"], input[name="cluster"]');
    if (f) { e.preventDefault(); f.focus(); }
  }
});
updateTokenButton();
window.gitfleetStart = performance.now();
render();
events.start();
