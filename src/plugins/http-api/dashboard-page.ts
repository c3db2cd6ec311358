/**
 * The dashboard: one self-contained page (no external resources) that reads the API with the token
 * from the URL fragment (`#token=…`, never sent to the server in a request line) or a pasted one, and
 * follows the event stream live. Everything apps send is rendered with textContent, never as HTML.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sonarhost</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2433; background: #f5f6f8; }
  body { margin: 0; }
  header { background: #1d2433; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { margin: 0; font-size: 18px; }
  #status { font-size: 13px; opacity: .85; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #eceef2; vertical-align: top; }
  th { color: #5b6477; font-weight: 600; }
  .ok { color: #137333; } .fail { color: #b3261e; } .muted { color: #7a8194; }
  #log { font-family: ui-monospace, monospace; font-size: 12px; max-height: 320px; overflow: auto; white-space: pre-wrap; }
  #login { padding: 40px; } #login input { width: 420px; font-family: monospace; }
</style>
</head>
<body>
<header><h1>sonarhost</h1><span id="status">connecting…</span></header>
<div id="login" hidden>
  <p>Paste the API token from <code>api.token</code> in the certificate folder (or open the URL printed by <code>sonarhost start</code>).</p>
  <input id="token-input" placeholder="token"> <button id="token-save">Open</button>
</div>
<main id="app" hidden>
  <section><h2>Clients</h2><table id="clients"><thead><tr><th>app</th><th>os</th><th>device</th><th>plugins</th><th>since</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Devices</h2><table id="devices"><thead><tr><th>transport</th><th>id</th><th>name</th><th>state</th><th>details</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Certificates</h2><table id="certificates"><tbody></tbody></table></section>
  <section><h2>Recent certificate exchanges</h2><table id="exchanges"><thead><tr><th>time</th><th>app</th><th>os</th><th>outcome</th><th>ms</th></tr></thead><tbody></tbody></table></section>
  <section class="wide"><h2>Messages</h2><div id="log"></div></section>
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
    const body = $(id).tBodies[0];
    if (rows.length === 0 && empty) { const td = cell(empty, 'muted'); td.colSpan = 5; rows = [[td]]; }
    body.replaceChildren(...rows.map((cells) => { const tr = document.createElement('tr'); tr.append(...cells); return tr; }));
  };
  const time = (iso) => new Date(iso).toLocaleTimeString();
  const clients = new Map();
  const renderClients = () => fill('clients', [...clients.values()].map((c) => {
    const app = cell(c.app); app.title = c.id + ' (' + c.appId + ')';
    return [app, cell(c.os), cell(c.device + (c.deviceId ? ' · ' + c.deviceId : '')), cell(c.plugins.join(', ')), cell(time(c.connectedSince))];
  }), 'no apps connected');
  let exchanges = [];
  const renderExchanges = () => fill('exchanges', exchanges.slice(-50).reverse().map((e) => [
    cell(time(e.at)), cell(e.app + (e.appId ? ' (' + e.appId + ')' : '')), cell(e.os),
    e.ok ? cell('ok → deviceId ' + JSON.stringify(e.deviceId) + ' via ' + e.transport, 'ok') : cell('failed: ' + e.error, 'fail'),
    cell(e.durationMs),
  ]), 'no certificate exchanges yet');
  const log = (text, cls) => {
    const line = document.createElement('div');
    line.textContent = new Date().toLocaleTimeString() + '  ' + text;
    if (cls) line.className = cls;
    $('log').prepend(line);
    while ($('log').childElementCount > 300) $('log').lastChild.remove();
  };
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
  const start = async () => {
    for (const c of await api('/api/clients')) clients.set(c.id, c);
    renderClients();
    exchanges = await api('/api/exchanges');
    renderExchanges();
    await Promise.all([loadDevices().catch((e) => log(String(e), 'fail')), loadCertificates().catch((e) => log(String(e), 'fail'))]);
    const events = new EventSource('/api/events?token=' + encodeURIComponent(token));
    events.onopen = () => { $('status').textContent = 'live'; };
    events.onerror = () => { $('status').textContent = 'reconnecting…'; };
    events.addEventListener('client-connected', (m) => { const e = JSON.parse(m.data); clients.set(e.client.id, e.client); renderClients(); log('connected: ' + e.client.id, 'ok'); });
    events.addEventListener('client-disconnected', (m) => { const e = JSON.parse(m.data); clients.delete(e.clientId); renderClients(); log('disconnected: ' + e.clientId); });
    events.addEventListener('exchange', (m) => { const e = JSON.parse(m.data); exchanges.push(e); renderExchanges(); log('exchange ' + (e.ok ? 'ok' : 'failed') + ': ' + e.app + (e.ok ? '' : ' — ' + e.error), e.ok ? 'ok' : 'fail'); });
    events.addEventListener('plugin-event', (m) => { const e = JSON.parse(m.data); log(e.clientId + '  ' + e.plugin + '.' + e.method + '  ' + JSON.stringify(e.params).slice(0, 200)); });
    events.addEventListener('device', (m) => { const e = JSON.parse(m.data); log('device ' + e.transport + ' ' + e.deviceId + ': ' + e.state); loadDevices().catch(() => {}); });
  };
  start().catch((e) => { $('status').textContent = 'error'; log(String(e), 'fail'); });
})();
</script>
</body>
</html>
`;
