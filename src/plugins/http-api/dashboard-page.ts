/**
 * The dashboard: one self-contained page (no external resources) that reads the API with the token
 * from the URL fragment (`#token=…`, never sent to the server in a request line) or a pasted one. It
 * follows the host over the WebSocket API (clients, calls, events including the recent ones from
 * before it opened) and reads devices, certificates and exchanges over HTTP. Everything apps send is
 * rendered with textContent, never as HTML.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sonarhost</title>
<link rel="icon" href="data:,">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2433; background: #f5f6f8; }
  body { margin: 0; }
  header { background: #1d2433; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { margin: 0; font-size: 18px; }
  #status { font-size: 13px; opacity: .85; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow: auto; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eceef2; vertical-align: top; overflow-wrap: anywhere; }
  th { color: #5b6477; font-weight: 600; white-space: nowrap; overflow-wrap: normal; }
  .ok { color: #137333; } .fail { color: #b3261e; } .muted { color: #7a8194; }
  .recent { opacity: .6; }
  form { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 6px 10px; font-size: 13px; align-items: center; }
  /* A select is as wide as its longest option (a client id can be 300 characters): cap it to its cell. */
  select, input, textarea { min-width: 0; max-width: 100%; box-sizing: border-box; }
  form textarea { font-family: ui-monospace, monospace; font-size: 12px; min-height: 48px; }
  form button { justify-self: start; }
  #call-result { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; max-height: 240px; overflow: auto; margin: 8px 0 0; }
  .filters { display: flex; flex-wrap: wrap; gap: 12px; font-size: 13px; margin-bottom: 6px; align-items: center; }
  .filters label { min-width: 0; max-width: 100%; } .filters select { max-width: min(40ch, 100%); }
  #log { font-family: ui-monospace, monospace; font-size: 12px; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
  #login { padding: 40px; } #login input { width: min(420px, 100%); font-family: monospace; }
</style>
</head>
<body>
<header><h1>sonarhost</h1><span id="status">connecting…</span></header>
<div id="login" hidden>
  <p>Paste the API token from <code>api.token</code> in the certificate folder (or open the URL printed by <code>sonarhost start</code>).</p>
  <input id="token-input" placeholder="token"> <button id="token-save">Open</button>
</div>
<main id="app" hidden>
  <section><h2>Clients</h2><table id="clients"><thead><tr><th>app</th><th>short id</th><th>os</th><th>device</th><th>plugins</th><th>since</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Devices</h2><table id="devices"><thead><tr><th>transport</th><th>id</th><th>name</th><th>state</th><th>details</th></tr></thead><tbody></tbody></table></section>
  <section>
    <h2>Call a method</h2>
    <form id="call-form">
      <label for="call-client">client</label><select id="call-client"></select>
      <label for="call-plugin">plugin</label><input id="call-plugin" list="call-plugins" placeholder="plugin id, empty for a protocol method"><datalist id="call-plugins"></datalist>
      <label for="call-method">method</label><input id="call-method" placeholder="method" required>
      <label for="call-params">params</label><textarea id="call-params" placeholder="JSON, e.g. {&quot;id&quot;: 1} (optional)"></textarea>
      <span></span><button id="call-send" type="submit">Call</button>
    </form>
    <pre id="call-result" class="muted">no call yet</pre>
  </section>
  <section><h2>Certificates</h2><table id="certificates"><tbody></tbody></table></section>
  <section><h2>Recent certificate exchanges</h2><table id="exchanges"><thead><tr><th>time</th><th>app</th><th>os</th><th>outcome</th><th>ms</th></tr></thead><tbody></tbody></table></section>
  <section class="wide">
    <h2>Messages</h2>
    <div class="filters">
      <label>client <select id="filter-client"><option value="">all</option></select></label>
      <label>plugin <input id="filter-plugin" placeholder="all"></label>
      <span class="muted">greyed: from before this page opened</span>
    </div>
    <div id="log"></div>
  </section>
</main>
<script>
(() => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) { sessionStorage.setItem('sonarhost-token', fromHash); history.replaceState(null, '', location.pathname); }
  const token = sessionStorage.getItem('sonarhost-token');
  const $ = (id) => document.getElementById(id);
  if (!token) {
    $('login').hidden = false;
    $('status').textContent = 'token needed';
    $('token-save').onclick = () => { sessionStorage.setItem('sonarhost-token', $('token-input').value.trim()); location.reload(); };
    return;
  }
  $('app').hidden = false;
  const api = async (path) => {
    const res = await fetch(path, { headers: { authorization: 'Bearer ' + token } });
    if (!res.ok) throw new Error(path + ': ' + res.status + ' ' + (await res.text()));
    return res.json();
  };
  const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text == null ? '' : String(text); if (cls) td.className = cls; return td; };
  const fill = (id, rows, empty) => {
    const table = $(id);
    const body = table.tBodies[0];
    if (rows.length === 0 && empty) { const td = cell(empty, 'muted'); td.colSpan = table.tHead ? table.tHead.rows[0].cells.length : 5; rows = [[td]]; }
    body.replaceChildren(...rows.map((cells) => { const tr = document.createElement('tr'); tr.append(...cells); return tr; }));
  };
  const time = (iso) => new Date(iso).toLocaleTimeString();
  const option = (value, text) => { const o = document.createElement('option'); o.value = value; o.textContent = text; return o; };

  // The WebSocket API: requests with ids, answers matched to them, events for the subscription.
  let ws;
  let nextId = 1;
  const waiting = new Map();
  const request = (type, fields) => new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== 1) return reject(new Error('not connected to the host'));
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify(Object.assign({}, fields, { id, type })));
  });

  const clients = new Map();
  // Client ids carry the app name as the SDKs' escape() wrote it (Dash%20first#Linux#…): shown decoded.
  const readable = (id) => { const [app, ...rest] = String(id).split('#'); return [unescape(app), ...rest].join('#'); };
  const renderClients = () => {
    fill('clients', [...clients.values()].map((c) => {
      const app = cell(c.app); app.title = readable(c.id) + ' (' + c.appId + ')';
      return [app, cell(c.shortId, 'muted'), cell(c.os), cell(c.device + (c.deviceId ? ' · ' + c.deviceId : '')), cell(c.plugins.join(', ')), cell(time(c.connectedSince))];
    }), 'no apps connected');
    for (const id of ['call-client', 'filter-client']) {
      const select = $(id);
      const chosen = select.value;
      const first = id === 'filter-client' ? [option('', 'all')] : [];
      select.replaceChildren(...first, ...[...clients.values()].map((c) => option(c.id, c.app + ' · ' + c.device + ' (' + c.shortId + ')')));
      if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    }
    renderPlugins();
  };
  const renderPlugins = () => {
    const c = clients.get($('call-client').value);
    $('call-plugins').replaceChildren(...(c ? c.plugins : []).map((p) => option(p, p)));
  };
  $('call-client').onchange = renderPlugins;

  let exchanges = [];
  const renderExchanges = () => fill('exchanges', exchanges.slice(-50).reverse().map((e) => [
    cell(time(e.at)), cell(e.app + (e.appId ? ' (' + e.appId + ')' : '')), cell(e.os),
    e.ok ? cell('ok → deviceId ' + JSON.stringify(e.deviceId) + ' via ' + e.transport, 'ok') : cell('failed: ' + e.error, 'fail'),
    cell(e.durationMs),
  ]), 'no certificate exchanges yet');

  // The message log keeps its last 300 entries; the filters choose which are shown.
  const entries = [];
  const visible = (e) => ($('filter-client').value === '' || e.clientId === $('filter-client').value) && ($('filter-plugin').value.trim() === '' || e.plugin === $('filter-plugin').value.trim());
  const line = (e) => {
    const div = document.createElement('div');
    div.textContent = new Date(e.at).toLocaleTimeString() + '  ' + e.text;
    div.className = (e.cls || '') + (e.recent ? ' recent' : '');
    return div;
  };
  const renderLog = () => $('log').replaceChildren(...entries.filter(visible).reverse().map(line));
  const log = (text, cls, extra) => {
    const e = Object.assign({ at: new Date().toISOString(), text, cls }, extra);
    entries.push(e);
    if (entries.length > 300) entries.shift();
    if (visible(e)) { $('log').prepend(line(e)); while ($('log').childElementCount > 300) $('log').lastChild.remove(); }
  };
  $('filter-client').onchange = renderLog;
  $('filter-plugin').oninput = renderLog;

  const loadDevices = async () => {
    const reports = await api('/api/devices');
    fill('devices', reports.flatMap((r) => r.problem
      ? [[cell(r.transport), cell('', 'muted'), cell('unavailable', 'muted'), cell(''), cell(r.problem, 'muted')]]
      : r.devices.map((d) => [cell(r.transport), cell(d.id), cell(d.name), cell(d.state), cell(Object.entries(d.details).map(([k, v]) => k + ': ' + v).join(', '))])), 'no devices');
  };
  const loadCertificates = async () => {
    const c = await api('/api/certificates');
    const row = (name, cert) => [cell(name), cell(cert.subject), cell('expires ' + new Date(cert.notAfter).toLocaleDateString()), cell(cert.sha256Fingerprint.slice(0, 23) + '…', 'muted')];
    fill('certificates', [[cell('folder'), cell(c.location), cell(''), cell('')], row('CA', c.ca), row('server', c.server)]);
  };

  const onEvent = (e, recent) => {
    const at = { at: e.at, recent };
    if (e.type === 'plugin-event') return log(readable(e.clientId) + '  ' + e.plugin + '.' + e.method + '  ' + JSON.stringify(e.params).slice(0, 200), '', Object.assign(at, { clientId: e.clientId, plugin: e.plugin }));
    if (e.type === 'client-connected') {
      if (!recent) { clients.set(e.client.id, e.client); renderClients(); loadDevices().catch(() => {}); }
      return log('connected: ' + readable(e.client.id), 'ok', Object.assign(at, { clientId: e.client.id }));
    }
    if (e.type === 'client-disconnected') {
      if (!recent) { clients.delete(e.clientId); renderClients(); loadDevices().catch(() => {}); }
      return log('disconnected: ' + readable(e.clientId), '', Object.assign(at, { clientId: e.clientId }));
    }
    if (e.type === 'exchange') {
      if (!recent) { exchanges.push(e); renderExchanges(); }
      return log('exchange ' + (e.ok ? 'ok' : 'failed') + ': ' + e.app + (e.ok ? '' : ' — ' + e.error), e.ok ? 'ok' : 'fail', at);
    }
    if (e.type === 'device') { if (!recent) loadDevices().catch(() => {}); return log('device ' + e.transport + ' ' + e.deviceId + ': ' + e.state, '', at); }
  };

  $('call-form').onsubmit = async (submit) => {
    submit.preventDefault();
    const out = $('call-result');
    const plugin = $('call-plugin').value.trim();
    const method = $('call-method').value.trim();
    let params;
    try { params = $('call-params').value.trim() === '' ? undefined : JSON.parse($('call-params').value); }
    catch (error) { out.className = 'fail'; out.textContent = 'params are not JSON: ' + error.message; return; }
    out.className = 'muted'; out.textContent = 'waiting for the answer…';
    try {
      const answer = await request('call', plugin
        ? { client: $('call-client').value, method: 'execute', params: { api: plugin, method, params } }
        : { client: $('call-client').value, method, params });
      out.className = 'ok'; out.textContent = JSON.stringify(answer, null, 2);
    } catch (error) {
      out.className = 'fail';
      out.textContent = error.kind ? error.kind + ': ' + (typeof error.detail === 'string' ? error.detail : JSON.stringify(error.detail, null, 2)) : String(error);
    }
  };

  const connect = () => {
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/ws?token=' + encodeURIComponent(token));
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'event') return onEvent(msg.event, msg.recent === true);
      const w = waiting.get(msg.id);
      if (!w) { if (msg.type === 'error') log('API: ' + msg.kind + ' ' + JSON.stringify(msg.error), 'fail'); return; }
      waiting.delete(msg.id);
      if (msg.type === 'result') w.resolve(msg.result);
      else w.reject(Object.assign(new Error(msg.kind), { kind: msg.kind, detail: msg.error }));
    };
    ws.onopen = async () => {
      try {
        // Subscribed first, so no connection between the list and the subscription is missed.
        await request('subscribe', { recent: true });
        for (const c of await request('clients')) clients.set(c.id, c);
        renderClients();
        $('status').textContent = 'live';
      } catch (error) { log(String(error), 'fail'); }
    };
    ws.onclose = () => {
      $('status').textContent = 'reconnecting…';
      for (const w of waiting.values()) w.reject(new Error('the connection to the host closed'));
      waiting.clear();
      clients.clear();
      setTimeout(connect, 1000);
    };
  };

  const start = async () => {
    exchanges = await api('/api/exchanges');
    renderExchanges();
    await Promise.all([loadDevices().catch((e) => log(String(e), 'fail')), loadCertificates().catch((e) => log(String(e), 'fail'))]);
    connect();
  };
  start().catch((e) => { $('status').textContent = 'error'; log(String(e), 'fail'); });
})();
</script>
</body>
</html>
`;
