/**
 * A demo "app" that connects to a running sonarhost with one plugin, as an app embedding a Flipper SDK
 * would. Run the host first (`npm start`), then `npm run demo` in another terminal.
 *
 *   node dist/examples/demo-app.js [--host 127.0.0.1] [--ports 8089,8088] [--state-dir DIR]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FlipperClient, type ClientPlugin } from '../src/client/index.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, ports: { type: 'string', default: process.env.FLIPPER_PORTS ?? '8089,8088' }, 'state-dir': { type: 'string' } },
});
const [insecure, secure] = values.ports!.split(',').map(Number);
const stateDir = values['state-dir'] ?? join(await mkdtemp(join(tmpdir(), 'sonarhost-demo-')), 'sonar');

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

const client = new FlipperClient({
  appId: 'com.example.sonarhost.demo',
  appName: 'sonarhost demo',
  os: process.platform === 'darwin' ? 'MacOS' : process.platform === 'win32' ? 'Windows' : 'Linux',
  device: 'demo machine',
  stateDir,
  host: values.host,
  ports: { insecure: insecure!, secure: secure! },
  plugins: [counter],
});
client.on('state', (state: string) => console.log(`[demo] ${state}`));
client.on('exchanged', ({ deviceId }: { deviceId: unknown }) => console.log(`[demo] certificates received (deviceId ${JSON.stringify(deviceId)}) in ${stateDir}`));
client.on('hostRequest', (method: string) => console.log(`[demo] host called ${method}`));
client.on('problem', (message: string) => console.log(`[demo] ${message}`));
client.start();

const stop = () => void client.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
