import { type AppSession } from '../../core/app-session.js';
import { type ClientRegistry } from '../../core/client-registry.js';
import { HostError } from '../../core/host-error.js';
import { AppResponseError } from '../../core/protocol/json-message.js';
import { describeClient } from './flipper-descriptions.js';
import { type FlipperDevices } from './flipper-devices.js';
import { type FlipperDoctor } from './flipper-doctor.js';
import { type FlipperPlugins } from './flipper-plugin-source.js';
import { type FlipperSettings } from './flipper-settings.js';

/** What the commands work with: the host's contracts, seen the way Flipper's UI names them. */
export interface FlipperCommandContext {
  registry: ClientRegistry;
  devices: FlipperDevices;
  plugins: FlipperPlugins;
  settings: FlipperSettings;
  doctor: FlipperDoctor;
  config(): Promise<Record<string, unknown>>;
  screenshot(serial: string): Promise<Buffer>;
  /** How long an app may take to answer `client-request-response`. */
  requestTimeoutMs: number;
}

type Run = (context: FlipperCommandContext, args: readonly unknown[]) => Promise<unknown>;
/** A command is served (`run`) or refused on purpose, with the reason the UI is told. */
export type FlipperCommand = { run: Run } | { refused: string };

const FS_EXEC = "sonarhost does not bridge the file system or processes to Flipper's UI: any page or process holding the token could read files or run programs.";
const META = 'this is a Meta-internal or Electron-only feature, which sonarhost does not have.';
const MARKETPLACE = 'sonarhost does not install plugins from the UI; install them with the sonarhost CLI, then reload.';
const LIFECYCLE = 'the UI cannot stop or restart sonarhost; stop it where it was started (Ctrl-C, or the service manager).';
const EMULATORS = 'sonarhost does not launch, kill or control emulators, simulators or their tools; start them with their own tools.';
const DEVICE_CONTROL = 'sonarhost does not run commands, install apps or change anything on devices for the UI.';
const NOT_YET = 'sonarhost does not implement this command.';

/**
 * flipper-server's commands (flipper-common 0.273 plus 0.162's `plugins-get-bundled-plugins`), in the
 * protocol's own grouping. A name not in this table is answered at once with an error too.
 */
export const FLIPPER_COMMANDS: Readonly<Record<string, FlipperCommand>> = {
  // core connection
  'device-list': { run: async (c) => c.devices.list().map((d) => d.description) },
  'device-find': { run: async (c, [serial]) => c.devices.find(text(serial, 'device serial'))?.description },
  'client-list': { run: async (c) => c.registry.list().map(describeClient) },
  'client-find': { run: async (c, [id]) => describeOrUndefined(c.registry.get(text(id, 'client id'))) },
  'client-request': { run: async (c, [id, payload]) => void clientRequest(c, id, payload) },
  'client-request-response': { run: async (c, [id, payload]) => clientRequestResponse(c, id, payload) },
  // server and meta
  'get-server-state': { run: async () => ({ state: 'started' }) },
  'get-config': { run: async (c) => c.config() },
  'get-changelog': { run: async () => '# sonarhost\n\nThis Flipper UI is served by sonarhost. See its README for what changed.\n' },
  'environment-info': { run: async (c) => (await c.config()).environmentInfo },
  shutdown: { refused: LIFECYCLE },
  restart: { refused: LIFECYCLE },
  'move-pwa': { refused: META },
  'fetch-new-version': { refused: 'sonarhost does not update itself; update it with npm.' },
  'log-connectivity-event': { run: async () => undefined },
  'fetch-debug-data': { refused: NOT_YET },
  // plugins
  'plugins-load-dynamic-plugins': { run: async (c) => c.plugins.dynamicPlugins() },
  'plugins-get-bundled-plugins': { run: async () => [] },
  'plugins-get-installed-plugins': { run: async (c) => c.plugins.installedPlugins() },
  'plugin-source': { run: async (c, [entry]) => c.plugins.source(text(entry, 'plugin entry')) },
  'plugins-remove-plugins': { run: async (_c, [names]) => removePlugins(names) },
  'plugins-load-marketplace-plugins': { run: async () => [] },
  'plugins-get-updatable-plugins': { run: async () => [] },
  'plugin-start-download': { refused: MARKETPLACE },
  'plugins-install-from-marketplace': { refused: MARKETPLACE },
  'plugins-install-from-npm': { refused: MARKETPLACE },
  'plugins-install-from-content': { refused: MARKETPLACE },
  'plugins-install-from-file': { refused: MARKETPLACE },
  'plugins-server-add-on-start': { refused: 'sonarhost runs no server add-ons of Flipper plugins.' },
  'plugins-server-add-on-stop': { refused: 'sonarhost runs no server add-ons of Flipper plugins.' },
  'plugins-server-add-on-request-response': { refused: 'sonarhost runs no server add-ons of Flipper plugins.' },
  // device features
  'device-take-screenshot': { run: async (c, [serial]) => (await c.screenshot(text(serial, 'device serial'))).toString('base64') },
  'device-start-screencapture': { refused: NOT_YET },
  'device-stop-screencapture': { refused: NOT_YET },
  'device-shell-exec': { refused: DEVICE_CONTROL },
  'device-install-app': { refused: DEVICE_CONTROL },
  'device-open-app': { refused: DEVICE_CONTROL },
  'device-forward-port': { refused: DEVICE_CONTROL },
  'device-clear-logs': { refused: DEVICE_CONTROL },
  'device-navigate': { refused: DEVICE_CONTROL },
  // emulators and simulators
  'android-get-emulators': { run: async () => [] },
  'android-launch-emulator': { refused: EMULATORS },
  'android-adb-kill': { refused: EMULATORS },
  'ios-get-simulators': { run: async () => [] },
  'ios-launch-simulator': { refused: EMULATORS },
  'ios-launch-app': { refused: EMULATORS },
  'ios-idb-kill': { refused: EMULATORS },
  'metro-command': { refused: 'sonarhost has no Metro (React Native bundler) connection.' },
  // settings and keychain
  'persist-settings': { run: async (c, [settings]) => c.settings.save(settings) },
  'persist-launcher-settings': { run: async () => undefined },
  'keychain-write': { refused: 'sonarhost keeps no secrets for the UI in the keychain.' },
  'keychain-read': { refused: 'sonarhost keeps no secrets for the UI in the keychain.' },
  'keychain-unset': { refused: 'sonarhost keeps no secrets for the UI in the keychain.' },
  // the file-system and process bridge
  'node-api-fs-access': { refused: FS_EXEC },
  'node-api-fs-pathExists': { refused: FS_EXEC },
  'node-api-fs-unlink': { refused: FS_EXEC },
  'node-api-fs-mkdir': { refused: FS_EXEC },
  'node-api-fs-rm': { refused: FS_EXEC },
  'node-api-fs-copyFile': { refused: FS_EXEC },
  'node-api-fs-stat': { refused: FS_EXEC },
  'node-api-fs-readlink': { refused: FS_EXEC },
  'node-api-fs-readfile': { refused: FS_EXEC },
  'node-api-fs-readfile-binary': { refused: FS_EXEC },
  'node-api-fs-writefile': { refused: FS_EXEC },
  'node-api-fs-writefile-binary': { refused: FS_EXEC },
  'node-api-exec': { refused: FS_EXEC },
  'download-file-start': { refused: FS_EXEC },
  'open-file': { refused: FS_EXEC },
  // doctor
  'doctor-get-healthchecks': { run: async (c) => c.doctor.healthchecks() },
  'doctor-run-healthcheck': { run: async (c, [, category, key]) => c.doctor.runOne(category, key) },
  // Meta-internal and analytics
  'intern-graph-post': { refused: META },
  'intern-graph-get': { refused: META },
  'intern-upload-scribe-logs': { refused: META },
  'intern-cloud-upload': { refused: META },
  'is-logged-in': { refused: META },
};

/** Runs one command; every failure (unknown, refused, bad arguments, the app's error) is thrown with a message for the UI. */
export async function runFlipperCommand(context: FlipperCommandContext, name: string, args: readonly unknown[]): Promise<unknown> {
  const command = Object.hasOwn(FLIPPER_COMMANDS, name) ? FLIPPER_COMMANDS[name]! : undefined;
  if (!command) throw new HostError('protocol-invalid', `Unknown command ${JSON.stringify(name.slice(0, 100))}: sonarhost's flipper-server API does not have it.`);
  if ('refused' in command) throw new HostError('protocol-invalid', `sonarhost refuses ${name}: ${command.refused}`);
  return command.run(context, args);
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new HostError('protocol-invalid', `Expected the ${what} as a string argument.`);
  return value;
}

function describeOrUndefined(session: AppSession | undefined) {
  return session ? describeClient(session) : undefined;
}

function session(context: FlipperCommandContext, id: unknown): AppSession {
  const found = context.registry.get(text(id, 'client id'));
  if (!found) throw new HostError('client-disconnected', `No connected client has the id ${JSON.stringify(String(id).slice(0, 200))}; client-list shows the connected ones.`);
  return found;
}

function payloadOf(payload: unknown): { id?: unknown; method: string; params?: unknown } {
  if (typeof payload !== 'object' || payload === null || typeof (payload as { method?: unknown }).method !== 'string') {
    throw new HostError('protocol-invalid', 'The request to the app must be an object with a "method" string (and "params").');
  }
  return payload as { method: string };
}

function clientRequest(context: FlipperCommandContext, id: unknown, payload: unknown): void {
  const { method, params } = payloadOf(payload);
  session(context, id).notify(method, params);
}

/** Asks the app and answers as flipper-server does: `{id, success|error, length}` with the caller's own request id. */
async function clientRequestResponse(context: FlipperCommandContext, id: unknown, payload: unknown): Promise<unknown> {
  const request = payloadOf(payload);
  if (typeof request.id !== 'number' && typeof request.id !== 'string') {
    throw new HostError('protocol-invalid', 'client-request-response needs an "id" in the request to the app; its answer carries that id.');
  }
  const app = session(context, id);
  try {
    const success = await app.request(request.method, request.params, context.requestTimeoutMs);
    return { id: request.id, success: success ?? null, length: Buffer.byteLength(JSON.stringify(success ?? null)) };
  } catch (error) {
    if (!(error instanceof AppResponseError)) throw error;
    const appError = normalizeAppError(error.appError);
    return { id: request.id, error: appError, length: Buffer.byteLength(JSON.stringify(appError)) };
  }
}

/** The app's own error object as it sent it; anything else made into flipper-common's ClientErrorType. */
function normalizeAppError(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  const error = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return {
    message: typeof error.message === 'string' ? error.message : typeof value === 'string' ? value : 'the app answered with an error',
    stacktrace: typeof error.stacktrace === 'string' ? error.stacktrace : '',
    name: typeof error.name === 'string' ? error.name : 'Error',
  };
}

async function removePlugins(names: unknown): Promise<null> {
  if (Array.isArray(names) && names.length > 0) throw new HostError('protocol-invalid', MARKETPLACE.replace('install them', 'remove them'));
  return null;
}
