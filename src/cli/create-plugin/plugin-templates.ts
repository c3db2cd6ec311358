/**
 * The files `sonarhost create-plugin` writes: a package an author can `npm install && npm test` at once.
 * Each kind gets a working plugin (not a stub) and a test that runs it through `sonarhost/testing`.
 */
export type ScaffoldKind = 'device-transport' | 'connection-handler' | 'service';

export const SCAFFOLD_KINDS: readonly ScaffoldKind[] = ['device-transport', 'connection-handler', 'service'];

export interface ScaffoldInput {
  /** npm package name (maybe scoped). */
  packageName: string;
  /** Plugin id: the package name without its scope. */
  id: string;
  kind: ScaffoldKind;
  /** The `sonarhost` range plugins declare as a peer (the host's own major.minor and later). */
  sonarhostRange: string;
  /** What the package installs for its own tests (the range, or a tarball/path while sonarhost is unpublished). */
  sonarhostDevSpec: string;
}

export function scaffoldFiles(input: ScaffoldInput): Record<string, string> {
  const className = pascalCase(input.id) + { 'device-transport': 'Transport', 'connection-handler': 'Handler', service: 'Service' }[input.kind];
  const source = { 'device-transport': deviceTransportSource, 'connection-handler': connectionHandlerSource, service: serviceSource }[input.kind];
  const test = { 'device-transport': deviceTransportTest, 'connection-handler': connectionHandlerTest, service: serviceTest }[input.kind];
  return {
    'package.json': packageJson(input),
    'tsconfig.json': TSCONFIG,
    '.gitignore': 'node_modules/\ndist/\n',
    'src/index.ts': source(input.id, className),
    [`test/${input.id}.test.ts`]: test(input.id),
    'README.md': readme(input),
  };
}

function packageJson(input: ScaffoldInput): string {
  const pkg = {
    name: input.packageName,
    version: '0.1.0',
    description: `A sonarhost ${input.kind} plugin`,
    type: 'module',
    exports: { '.': { types: './dist/src/index.d.ts', default: './dist/src/index.js' } },
    files: ['dist/src'],
    scripts: { build: 'tsc -p tsconfig.json', prepack: 'tsc -p tsconfig.json', test: 'tsc -p tsconfig.json && node --test' },
    keywords: ['sonarhost-plugin'],
    peerDependencies: { sonarhost: input.sonarhostRange },
    devDependencies: { '@types/node': '20.19.43', sonarhost: input.sonarhostDevSpec, typescript: '5.9.3' },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "nodenext",
    "moduleResolution": "nodenext",
    "outDir": "dist",
    "rootDir": ".",
    "declaration": true,
    "strict": true,
    "experimentalDecorators": true,
    "emitDecoratorMetadata": true,
    "skipLibCheck": true,
    "types": ["node"]
  },
  "include": ["src/**/*.ts", "test/**/*.ts"]
}
`;

const deviceTransportSource = (id: string, className: string) => `/**
 * ${id}: a sonarhost device transport. It serves apps whose SETUP names a device listed in
 * pluginOptions["${id}"].devices, a map from device name to the folder on this machine that holds
 * that device's files; the app's certificate folder is found at the same path below it.
 * Replace the folder access with your device's own channel (a socket, an agent, a CLI).
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  ContainerModule,
  type DeviceFile,
  type DeviceTarget,
  DeviceTransport,
  type ExchangeRequest,
  HostConfig,
  HostError,
  definePlugin,
  inject,
  injectable,
  normalizeCsr,
  writeFileAtomic,
} from 'sonarhost/plugin-api';

const ID = '${id}';

@injectable()
export class ${className} implements DeviceTransport {
  readonly id = ID;

  constructor(@inject(HostConfig) private readonly config: HostConfig) {}

  /** Asked for every exchange: decide from the request alone, no I/O. */
  serves(request: ExchangeRequest): boolean {
    return this.rootOf(request.query.device) !== undefined;
  }

  /** Finds the app's folder and proves it belongs to the app: its app.csr must equal the CSR sent. */
  async locate(request: ExchangeRequest): Promise<DeviceTarget> {
    const device = request.query.device;
    const root = await realpath(this.rootOf(device)!).catch(() => {
      throw new HostError('device-unavailable', \`The files of \${device} are expected at \${this.rootOf(device)} (pluginOptions["\${ID}"].devices): that folder does not exist.\`);
    });
    if (!isAbsolute(request.destination)) throw new HostError('destination-refused', 'The destination must be an absolute path on the device.');
    const folder = await realpath(join(root, request.destination)).catch(() => {
      throw new HostError('destination-refused', \`\${request.destination} does not exist on \${device}.\`);
    });
    const inside = relative(root, folder);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new HostError('destination-refused', \`\${request.destination} leaves the files of \${device}.\`);
    const onDevice = await readFile(join(folder, 'app.csr'), 'utf8').catch(() => undefined);
    if (onDevice === undefined) throw new HostError('destination-refused', \`\${request.destination} on \${device} holds no app.csr: the app writes it before the exchange.\`);
    if (normalizeCsr(onDevice) !== request.csr.pem) throw new HostError('destination-refused', \`\${request.destination} on \${device} holds another app's app.csr.\`);
    return { deviceId: \`\${ID}:\${device}\`, detail: folder };
  }

  /** Writes exactly the given files into the app's folder, nothing else. */
  async deploy(_request: ExchangeRequest, target: DeviceTarget, files: readonly DeviceFile[]): Promise<void> {
    for (const file of files) await writeFileAtomic(join(target.detail as string, file.name), file.contents, 0o644);
  }

  private rootOf(device: string): string | undefined {
    const devices = (this.config.pluginOptions[ID]?.devices ?? {}) as Record<string, unknown>;
    const root = devices[device];
    return typeof root === 'string' ? resolve(this.config.configDir ?? process.cwd(), root) : undefined;
  }
}

export default definePlugin({
  id: ID,
  kind: 'device-transport',
  description: 'apps on devices whose files this machine reaches through a folder',
  module: new ContainerModule(({ bind }) => {
    bind(${className}).toSelf().inSingletonScope();
    bind(DeviceTransport).toService(${className});
  }),
  requires: [HostConfig],
});
`;

const deviceTransportTest = (id: string) => `import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeDeviceTransportConformance, startPluginHost } from 'sonarhost/testing';
import plugin from '../src/index.js';

// The host keeps no list of OSes: it asks the device transports, so an app may name any os (this one
// is made up) and still reach this transport over both SDK eras.
const OS = 'Toaster';

// sonarhost's own checks of the DeviceTransport contract.
describeDeviceTransportConformance({
  plugin,
  setup: async (root) => ({
    pluginOptions: { '${id}': { devices: { 'device-1': join(root, 'device-1') } } },
    query: { os: OS, device: 'device-1' },
    destination: '/data/app/sonar/',
    localFolder: join(root, 'device-1', 'data', 'app', 'sonar'),
  }),
});

for (const transport of ['rsocket', 'websocket'] as const) {
  test(\`an app on the device completes the exchange and the secure connection (\${transport})\`, async () => {
    const root = await mkdtemp(join(tmpdir(), '${id}-test-'));
    const host = await startPluginHost({ plugin, pluginOptions: { '${id}': { devices: { 'device-1': join(root, 'device-1') } } } });
    try {
      const appFolder = join(root, 'device-1', 'data', 'app', 'sonar');
      await mkdir(appFolder, { recursive: true });
      const app = await host.connectApp({ transport, os: OS, device: 'device-1', stateDir: appFolder, reportedStateDir: '/data/app/sonar/' });
      assert.equal(app.deviceId, '${id}:device-1');
    } finally {
      await host.stop();
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });
}
`;

const connectionHandlerSource = (id: string, className: string) => `/**
 * ${id}: a sonarhost connection handler. It claims the plugin ids in pluginOptions["${id}"].plugins
 * (all when absent), keeps the connected apps, and logs their events. Replace the bodies with what
 * your tool does with apps (a UI, a recorder, a bridge).
 */
import { type AppClient, ConnectionHandler, ContainerModule, HostConfig, Logger, type PluginEvent, definePlugin, inject, injectable } from 'sonarhost/plugin-api';

const ID = '${id}';

@injectable()
export class ${className} implements ConnectionHandler {
  readonly id = ID;
  /** The apps connected now, by client id. */
  readonly clients = new Map<string, AppClient>();
  private readonly plugins: string[] | undefined;

  constructor(
    @inject(HostConfig) config: HostConfig,
    @inject(Logger) private readonly log: Logger,
  ) {
    const plugins = config.pluginOptions[ID]?.plugins;
    this.plugins = Array.isArray(plugins) ? plugins.filter((p): p is string => typeof p === 'string') : undefined;
  }

  /** Asked often: decide from the id alone. Claiming a background plugin makes the host init it. */
  claims(plugin: string): boolean {
    return this.plugins === undefined || this.plugins.includes(plugin);
  }

  onClientConnected(client: AppClient): void {
    this.clients.set(client.id, client);
    this.log.info('app connected', { client: client.id, plugins: client.plugins() });
  }

  onClientDisconnected(client: AppClient): void {
    this.clients.delete(client.id);
  }

  onEvent(client: AppClient, event: PluginEvent): void {
    this.log.debug('event', { client: client.id, plugin: event.plugin, method: event.method });
  }
}

export default definePlugin({
  id: ID,
  kind: 'connection-handler',
  description: 'keeps the connected apps and logs their events',
  module: new ContainerModule(({ bind }) => {
    bind(${className}).toSelf().inSingletonScope();
    bind(ConnectionHandler).toService(${className});
  }),
  requires: [HostConfig, Logger],
});
`;

const connectionHandlerTest = (id: string) => `import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConnectionHandler } from 'sonarhost/plugin-api';
import { describeConnectionHandlerConformance, startPluginHost } from 'sonarhost/testing';
import plugin, { type ${pascalCase(id)}Handler } from '../src/index.js';

// sonarhost's own checks of the ConnectionHandler contract.
describeConnectionHandlerConformance({ plugin });

test('sees a real app connect through the exchange and the secure connection', async () => {
  const root = await mkdtemp(join(tmpdir(), '${id}-test-'));
  const host = await startPluginHost({ plugin });
  try {
    await host.connectApp({ appId: 'com.example.app', appName: 'Example', stateDir: join(root, 'sonar') });
    const [handler] = host.container.getAll<${pascalCase(id)}Handler>(ConnectionHandler);
    for (let i = 0; i < 100 && handler!.clients.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual([...handler!.clients.values()].map((c) => c.appId), ['com.example.app']);
  } finally {
    await host.stop();
    await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
});
`;

const serviceSource = (id: string, className: string) => `/**
 * ${id}: a sonarhost service, started with the host and stopped with it. This one writes a status
 * file (pluginOptions["${id}"].statusFile, relative to the config file) while the host runs.
 * Replace it with what your service runs (a listener, a watcher, a bridge).
 */
import { rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ContainerModule, type Disposable, HostConfig, HostService, type HostServicePhase, definePlugin, inject, injectable } from 'sonarhost/plugin-api';

const ID = '${id}';

@injectable()
export class ${className} implements HostService {
  readonly id = ID;
  /** 'platforms' start before the app-facing servers, 'servers' with them. */
  readonly phase: HostServicePhase = 'servers';
  readonly statusFile: string;

  constructor(@inject(HostConfig) config: HostConfig) {
    const file = config.pluginOptions[ID]?.statusFile;
    this.statusFile = resolve(config.configDir ?? process.cwd(), typeof file === 'string' ? file : '${id}.status');
  }

  /** Starts the service; the Disposable it returns stops it. */
  async start(): Promise<Disposable> {
    await writeFile(this.statusFile, \`running since \${new Date().toISOString()}\\n\`);
    return { dispose: () => rm(this.statusFile, { force: true }) };
  }
}

export default definePlugin({
  id: ID,
  kind: 'service',
  description: 'writes a status file while the host runs',
  module: new ContainerModule(({ bind }) => {
    bind(${className}).toSelf().inSingletonScope();
    bind(HostService).toService(${className});
  }),
  requires: [HostConfig],
});
`;

const serviceTest = (id: string) => `import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPluginHost } from 'sonarhost/testing';
import plugin from '../src/index.js';

test('runs with the host, which still serves a real app, and stops with it', async () => {
  const root = await mkdtemp(join(tmpdir(), '${id}-test-'));
  const statusFile = join(root, 'status');
  const host = await startPluginHost({ plugin, pluginOptions: { '${id}': { statusFile } } });
  try {
    assert.match(await readFile(statusFile, 'utf8'), /^running since/);
    await host.connectApp({ stateDir: join(root, 'sonar') });
  } finally {
    await host.stop();
  }
  await assert.rejects(readFile(statusFile), { code: 'ENOENT' });
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
});
`;

function readme(input: ScaffoldInput): string {
  const key = { 'device-transport': 'deviceTransports', 'connection-handler': 'connectionHandlers', service: 'services' }[input.kind];
  const list = input.kind === 'device-transport' ? `["${input.packageName}", "desktop", "android", "ios-simulator", "ios-physical"]` : `["${input.packageName}"]`;
  return `# ${input.packageName}

A sonarhost ${input.kind} plugin.

\`\`\`sh
npm install && npm test     # build, then run the plugin's tests (sonarhost's conformance suite and a real host)
\`\`\`

## Use it

Install it next to sonarhost and name it in \`sonarhost.config.json\`:

\`\`\`sh
npm install ${sonarhostInstallSpec(input)} /path/to/this/folder
\`\`\`

(Neither is on the npm registry: sonarhost is installed from a tarball made by \`npm pack\` in a clone
of sonarhost, and this plugin by its folder's path, or the tarball its own \`npm pack\` makes. A bare
\`${input.packageName}\` would be looked up on the registry.)

\`\`\`json
{
  "plugins": { "${key}": ${list} },
  "pluginOptions": { "${input.id}": {} }
}
\`\`\`

then \`npx sonarhost\`. The host looks the package up from the config file's folder, then the working
folder, then its own install.${input.kind === 'device-transport' ? ' Device transports are asked in order: list this one before the general ones.' : ''}

## Develop it

\`src/index.ts\` exports the plugin descriptor (\`definePlugin\` records the plugin API version it was
built against; the host refuses another major). Import everything, inversify's decorators included,
from \`sonarhost/plugin-api\`. \`test/\` uses \`sonarhost/testing\`.
`;
}

/** What `npm install` takes for sonarhost: the tarball this package was made against, else a placeholder path. */
function sonarhostInstallSpec(input: ScaffoldInput): string {
  return input.sonarhostDevSpec.startsWith('file:') ? input.sonarhostDevSpec.slice('file:'.length) : '/path/to/sonarhost-<version>.tgz';
}

function pascalCase(id: string): string {
  return id.split(/[^a-zA-Z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('').replace(/^[0-9]/, 'P$&');
}
