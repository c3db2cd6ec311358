import { randomBytes } from 'node:crypto';
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
 * or adopted storage `/mnt/expand/<uuid>/user/<n>/<app>/`), so that not even the su fallback writes
 * outside the folder of the app being served. Returns that app root (without its trailing slash).
 */
export function checkAppFolder(appId: string, destination: string): string {
  const dir = checkDestination(destination);
  const id = checkAppId(appId).replace(/\./g, '\\.');
  const privateData = new RegExp(`^(/data/data/${id}|/data/user/\\d+/${id}|/mnt/expand/[0-9a-fA-F-]+/user/\\d+/${id})/`);
  const match = privateData.exec(dir);
  if (!match) {
    throw new HostError('destination-refused', `Refusing destination ${dir}: it is not inside the private data folder of ${appId} (/data/data/${appId}/ or /data/user/<n>/${appId}/).`);
  }
  return match[1]!;
}

function checkPem(contents: string): string {
  if (!PEM.test(contents)) throw new HostError('internal', 'Refusing to send a certificate that is not a plain PEM block to a device shell.');
  return contents.replace(/\n$/, '');
}

/**
 * Who reads and writes on the device: the app itself through run-as, or, where run-as is refused,
 * the app's own uid through su (`su <uid>`, which AOSP's and Magisk's su both take). Never root: a
 * link the app planted in its folder then leads the writer only where the app could write anyway.
 */
export type Runner = { kind: 'run-as' } | { kind: 'su'; uid: number };

/** Printed by the device-side checks; `classifyOutput` turns it into the `link` problem. */
const REFUSED = 'sonarhost-refused:';

/**
 * Shell lines that stop the script when a folder from the app root down to the destination, or one of
 * `names` in it, is a symbolic link. With the writes running as the app such a link could do no harm
 * beyond the app's own rights, but sonarhost promises to write into the app's real folder and nowhere
 * else, and a clear refusal beats certificates landing where a link points. `-L` never follows.
 */
function linkChecks(root: string, dir: string, names: readonly string[], status: number): string {
  const paths: string[] = [];
  let current = root;
  for (const segment of dir.slice(root.length + 1, -1).split('/').filter(Boolean)) {
    current += `/${segment}`;
    paths.push(current);
  }
  for (const name of names) paths.push(`${dir}${name}`);
  return paths.map((path) => `[ -L ${path} ] && echo ${REFUSED} ${path} is a symbolic link && exit ${status}; `).join('');
}

/** A fresh random token for one command: a marker the app cannot guess, and unguessable temp names. */
export function nonce(): string {
  return randomBytes(8).toString('hex');
}

/**
 * One shell call that finds an app's CSR on a device: `run-as <app>` reads app.csr; only when run-as
 * itself is refused (it exits non-zero; a missing app.csr does not) does su run, after a marker line,
 * to print the owner uid of the app root and then app.csr. Either way app.csr and every folder on the
 * way must not be symbolic links. Read with `parseProbe`.
 */
export function probeCommand(appId: string, destination: string, marker: string): string {
  if (!/^[A-Za-z0-9-]{16,64}$/.test(marker)) throw new HostError('internal', 'Refusing a probe marker that is not plain letters and digits.');
  const root = checkAppFolder(appId, destination);
  const dir = checkDestination(destination);
  const checks = linkChecks(root, dir, ['app.csr'], 0);
  const asApp = `run-as ${checkAppId(appId)} sh -c "${checks}cat ${dir}app.csr || true"`;
  const asRoot = `su 0 sh -c "${checks}stat -c %u ${root} && cat ${dir}app.csr"`;
  return `${asApp} || sh -c 'echo ${marker} && ${asRoot}'`;
}

export interface ProbeOutput {
  /** What run-as printed (the CSR, or its refusal). */
  runAs: string;
  /** What the su fallback printed, when it ran: the owner uid of the app root, if it got that far, then app.csr. */
  su?: { uid?: number; rest: string };
}

export function parseProbe(output: string, marker: string): ProbeOutput {
  const at = output.indexOf(`${marker}\n`);
  if (at < 0) return { runAs: output };
  const runAs = output.slice(0, at);
  const after = output.slice(at + marker.length + 1);
  const line = /^(\d{1,10})\n/.exec(after);
  return { runAs, su: line ? { uid: Number(line[1]), rest: after.slice(line[0].length) } : { rest: after } };
}

/** Android app uids (AID_APP_START..AID_APP_END) per user; anything else is never written as. */
export function isAppUid(uid: number): boolean {
  const app = uid % 100_000;
  return Number.isSafeInteger(uid) && app >= 10_000 && app <= 19_999;
}

/** Runs `script` as the app: `run-as <app> sh -c` or `su <app uid> sh -c`. */
function asApp(runner: Runner, appId: string, script: string): string {
  if (runner.kind === 'run-as') return `run-as ${checkAppId(appId)} sh -c "${script}"`;
  if (!isAppUid(runner.uid)) throw new HostError('internal', `Refusing to run a write as uid ${runner.uid}: not an app uid.`);
  return `su ${runner.uid} sh -c "${script}"`;
}

/**
 * One round trip for both files, `sonarCA.crt` first, run as the app itself (never root): each is
 * written under a random temporary name and moved into place, so the app never reads half a
 * certificate and a link planted at a guessable name is never written through. Success prints nothing.
 */
export function writeFilesCommand(runner: Runner, appId: string, destination: string, files: ReadonlyArray<{ name: string; contents: string }>, token = nonce()): string {
  const root = checkAppFolder(appId, destination);
  const dir = checkDestination(destination);
  if (!/^[0-9a-f]{8,32}$/.test(token)) throw new HostError('internal', 'Refusing a temporary-name token that is not hex.');
  const steps = files.map((file) => {
    if (!/^[A-Za-z0-9._-]+$/.test(file.name)) throw new HostError('internal', `Refusing file name ${JSON.stringify(file.name)}.`);
    const temp = `${dir}.${file.name}.${token}.tmp`;
    return `echo '${checkPem(file.contents)}' > ${temp} && chmod 644 ${temp} && mv ${temp} ${dir}${file.name} || rm -f ${temp}`;
  });
  return asApp(runner, appId, `${linkChecks(root, dir, [], 3)}${steps.join('; ')}`);
}

export type ShellProblem = 'not-application' | 'not-debuggable' | 'not-permitted' | 'no-su' | 'link' | 'missing' | 'denied' | 'other';

/** Classifies device shell output that signals a failure (adb shell v1 exposes no exit code). */
export function classifyOutput(output: string): ShellProblem | undefined {
  const text = output.toLowerCase();
  if (text.includes(REFUSED)) return 'link';
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
    case 'link': {
      const line = output.split('\n').find((l) => l.includes(REFUSED))?.slice(REFUSED.length).trim() ?? 'a folder on the way';
      return `Refusing ${destination} of ${appId} on ${serial}: ${line}. sonarhost reads and writes only the app's real folder; the app must create sonar/ (and app.csr in it) as a plain folder and file, not links.`;
    }
    case 'missing':
      return `The folder ${destination} of ${appId} on ${serial} has no app.csr (or does not exist). The app writes it before asking for certificates; check the path it sent.`;
    case 'denied':
      return `Permission denied for ${destination} on ${serial}: the folder must be inside the private data of ${appId}.`;
    default:
      return `Unexpected answer from ${serial}: ${output.trim().slice(0, 200)}`;
  }
}
