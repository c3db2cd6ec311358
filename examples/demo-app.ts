/**
 * A demo "app" that connects to a running sonarhost with one plugin, as an app embedding a Flipper SDK
 * would. Run the host first (`npm start`), then `npm run demo` in another terminal.
 *
 *   node dist/examples/demo-app.js [--host 127.0.0.1] [--ports 8089,8088] [--state-dir DIR]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FlipperClient, type ClientPlugin } from '../src/client/index.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, ports: { type: 'string', default: process.env.FLIPPER_PORTS ?? '8089,8088' }, 'state-dir': { type: 'string' } },
});
const [insecure, secure] = values.ports!.split(',').map(Number);
// Without --state-dir the demo is a fresh install each run (a new key, a new exchange), in a temporary
// folder removed when it stops.
const tempRoot = values['state-dir'] === undefined ? await mkdtemp(join(tmpdir(), 'sonarhost-demo-')) : undefined;
const stateDir = values['state-dir'] ?? join(tempRoot!, 'sonar');

let ticks: NodeJS.Timeout | undefined;
const counter: ClientPlugin = {
  id: 'counter',
  runInBackground: true,
  receivers: {
    // The host can call `execute` with {"api":"counter","method":"add","params":{"a":1,"b":2}}.
    add: (params) => {
      const { a, b } = params as { a: number; b: number };
      return { sum: a + b };
    },
  },
  onConnect(connection) {
    let n = 0;
    ticks = setInterval(() => connection.send('tick', { n: n++ }), 1000);
  },
  onDisconnect() {
    clearInterval(ticks);
  },
};

// Not a background plugin: like most plugins it is connected only once a UI opens it (the protocol's
// `init`); `sonarhost call` sends that init itself when the app answers ConnectionNotFound.
const greeter: ClientPlugin = {
  id: 'greeter',
  receivers: {
    hello: (params) => ({ greeting: `hello, ${String((params as { name?: unknown } | undefined)?.name ?? 'you')}` }),
  },
};

const client = new FlipperClient({
  appId: 'com.example.sonarhost.demo',
  appName: 'sonarhost demo',
  os: process.platform === 'darwin' ? 'MacOS' : process.platform === 'win32' ? 'Windows' : 'Linux',
  device: 'demo machine',
  stateDir,
  host: values.host,
  ports: { insecure: insecure!, secure: secure! },
  plugins: [counter, greeter],
});
client.on('state', (state: string) => console.log(`[demo] ${state}`));
// Desktop apps get the empty device id: the device is the computer the host runs on.
const deviceName = (deviceId: unknown) => (deviceId === '' ? 'this computer' : `device ${JSON.stringify(deviceId)}`);
client.on('exchanged', ({ deviceId }: { deviceId: unknown }) => console.log(`[demo] certificates received for ${deviceName(deviceId)}, in ${stateDir}`));
client.on('hostRequest', (method: string) => console.log(`[demo] host called ${method}`));
client.on('problem', (message: string) => console.log(`[demo] ${message}`));
client.start();

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void client
    .stop()
    .then(() => (tempRoot === undefined ? undefined : rm(tempRoot, { recursive: true, force: true })))
    .then(() => process.exit(0), (error: unknown) => {
      console.error(`[demo] ${String(error)}`);
      process.exit(1);
    });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
