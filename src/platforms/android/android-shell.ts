import { APP_ID_PATTERN } from '../../core/x509/csr.js';
import { HostError } from '../../core/host-error.js';

/**
 * Builds the shell command lines sent to devices, and reads their output. Nothing reaches a device
 * shell unless it passed a strict character check: app ids `^[\w.-]+$`, destinations made of
 * `[A-Za-z0-9._/-]` (absolute, with a trailing slash, no `..` segment), PEM bodies of base64 and the
 * BEGIN/END lines. With those sets no quote, `$`, backtick, `;`, space or newline can appear where
 * the shell would interpret it, whatever the app sent.
 */
const DESTINATION = /^\/[A-Za-z0-9._/-]{0,1022}\/$/;
const PEM = /^-----BEGIN [A-Z ]+-----\n[A-Za-z0-9+/=\n]+\n-----END [A-Z ]+-----\n?$/;

export type Runner = 'run-as' | 'su';

export function checkAppId(appId: string): string {
  if (!APP_ID_PATTERN.test(appId)) throw new HostError('destination-refused', `Refusing app id ${JSON.stringify(appId)}: only letters, digits, '_', '.' and '-' may reach the device shell.`);
  return appId;
}

export function checkDestination(destination: string): string {
  if (!DESTINATION.test(destination) || destination.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new HostError(
      'destination-refused',
      `Refusing destination ${JSON.stringify(destination)}: an Android certificate folder must be an absolute path of letters, digits, '.', '_', '-' and '/', ending with '/', without '..'.`,
    );
  }
  return destination;
}

/**
 * The destination must lie in the app's own private data (`/data/data/<app>/`, `/data/user/<n>/<app>/`,
 * or adopted storage `/mnt/expand/<uuid>/user/<n>/<app>/`), so that not even the su fallback, which
 * could write anywhere, writes outside the folder of the app being served.
 */
export function checkAppFolder(appId: string, destination: string): void {
  const dir = checkDestination(destination);
  const id = checkAppId(appId).replace(/\./g, '\\.');
  const privateData = new RegExp(`^(/data/data/${id}/|/data/user/\\d+/${id}/|/mnt/expand/[0-9a-fA-F-]+/user/\\d+/${id}/)`);
  if (!privateData.test(dir)) {
    throw new HostError('destination-refused', `Refusing destination ${dir}: it is not inside the private data folder of ${appId} (/data/data/${appId}/ or /data/user/<n>/${appId}/).`);
  }
}

function checkPem(contents: string): string {
  if (!PEM.test(contents)) throw new HostError('internal', 'Refusing to send a certificate that is not a plain PEM block to a device shell.');
  return contents.replace(/\n$/, '');
}

/** Runs `command` as the app (run-as) or as root (su 0), both reading the app's private folder. */
function as(runner: Runner, appId: string, command: string): string {
  return runner === 'run-as' ? `run-as ${checkAppId(appId)} ${command}` : `su 0 ${command}`;
}

export function readCsrCommand(runner: Runner, appId: string, destination: string): string {
  return as(runner, appId, `cat ${checkDestination(destination)}app.csr`);
}

/**
 * One round trip for both files, `sonarCA.crt` first: each is written to a temporary name and moved
 * into place, so the app never reads half a certificate. Success prints nothing.
 */
export function writeFilesCommand(runner: Runner, appId: string, destination: string, files: ReadonlyArray<{ name: string; contents: string }>): string {
  const dir = checkDestination(destination);
  const steps = files.map((file) => {
    if (!/^[A-Za-z0-9._-]+$/.test(file.name)) throw new HostError('internal', `Refusing file name ${JSON.stringify(file.name)}.`);
    return `echo '${checkPem(file.contents)}' > ${dir}${file.name}.tmp && chmod 644 ${dir}${file.name}.tmp && mv ${dir}${file.name}.tmp ${dir}${file.name}`;
  });
  return as(runner, appId, `sh -c "${steps.join(' && ')}"`);
}

export type ShellProblem = 'not-application' | 'not-debuggable' | 'not-permitted' | 'no-su' | 'missing' | 'denied' | 'other';

/** Classifies device shell output that signals a failure (adb shell v1 exposes no exit code). */
export function classifyOutput(output: string): ShellProblem | undefined {
  const text = output.toLowerCase();
  if (text.includes('not an application') || text.includes('unknown package')) return 'not-application';
  if (text.includes('not debuggable')) return 'not-debuggable';
  if (text.includes('not permitted')) return 'not-permitted';
  if (/\bsu: (not found|inaccessible)/.test(text)) return 'no-su';
  if (text.includes('no such file or directory')) return 'missing';
  if (text.includes('permission denied')) return 'denied';
  return undefined;
}

/** The message users read for each problem, saying what to do. */
export function problemMessage(problem: ShellProblem, appId: string, serial: string, destination: string, output: string): string {
  switch (problem) {
    case 'not-application':
      return `Android package ${appId} is not an installed application on ${serial}. Install the app, or run adb as root so sonarhost can use su.`;
    case 'not-debuggable':
      return `Android app ${appId} on ${serial} is not debuggable, so sonarhost cannot reach its private folder with run-as. Use a debug build (android:debuggable="true"), or a rooted device or emulator where su works.`;
    case 'not-permitted':
      return `run-as is not permitted on ${serial} (a known defect of some Samsung devices, Flipper issue #92). Use another device or an emulator, or a rooted device where su works.`;
    case 'no-su':
      return `Neither run-as nor su can reach the private folder of ${appId} on ${serial}.`;
    case 'missing':
      return `The folder ${destination} of ${appId} on ${serial} has no app.csr (or does not exist). The app writes it before asking for certificates; check the path it sent.`;
    case 'denied':
      return `Permission denied for ${destination} on ${serial}: the folder must be inside the private data of ${appId}.`;
    default:
      return `Unexpected answer from ${serial}: ${output.trim().slice(0, 200)}`;
  }
}
