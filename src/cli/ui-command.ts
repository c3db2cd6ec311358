import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { join } from 'node:path';
import { type HostConfig } from '../core/host-config.js';
import { API_TOKEN_FILE } from '../core/access-token.js';
import { API_COMMAND_EXIT_CODES, parseApiCommand, runApiCommand } from './api-command.js';
import { COMMON_HELP } from './cli-context.js';
import { proveHost } from './host-proof-client.js';
import { UntrustedFile, checkPrivateFolder, readPrivateFile } from '../core/private-file.js';
import { CliFailure, EXIT } from './running-host.js';

export const UI_HELP = `Usage: sonarhost ui [--no-open] [options]

Opens Flipper's own browser UI on the running host: prints the login link
http://localhost:<port>/?token=<token> and opens it in your browser. The link carries the host's API
token (from <cert-dir>/${API_TOKEN_FILE}); the page trades it for a cookie and drops it from the address.
Flipper's UI itself is a separate install (the host says which command when it is missing):
  npm install --prefix ~/.sonar/flipper-ui flipper-server@0.162.0

Options:
  --no-open            print the link only; do not start a browser

${API_COMMAND_EXIT_CODES}

${COMMON_HELP}`;

export async function uiCommand(args: string[]): Promise<number> {
  return runApiCommand(async () => {
    const parsed = await parseApiCommand<{ 'no-open'?: boolean }>(args, { 'no-open': { type: 'boolean' } }, { min: 0, max: 0, usage: 'sonarhost ui [--no-open]' });
    if (!parsed) {
      process.stdout.write(UI_HELP + '\n');
      return EXIT.ok;
    }
    const port = flipperPort(parsed.config);
    const token = await readToken(parsed.certDir);
    if (!(await accepts(port))) {
      throw new CliFailure(
        EXIT.notRunning,
        `Nothing answers on Flipper's UI port ${port} (127.0.0.1). Start the host with "sonarhost start" (with the flipper-server-api service), or name the port it uses with --flipper-port.`,
      );
    }
    // The link carries the token: it goes to a browser only once the server on that port proved it is
    // the host of this folder (a program that took the port cannot).
    const proof = await proveHost(`http://127.0.0.1:${port}`, token, 5000);
    if (!proof.ok) {
      throw new CliFailure(EXIT.notRunning, `The server on Flipper's UI port ${port} is not the sonarhost of ${parsed.certDir} (${proof.detail}); no link was made. Check what holds the port with "sonarhost doctor".`);
    }
    const url = `http://localhost:${port}/?token=${token}`;
    process.stdout.write(url + '\n');
    if (!parsed.values['no-open']) process.stderr.write((await openInBrowser(url)) + '\n');
    return EXIT.ok;
  });
}

/** The configured port (file, environment or --flipper-port), as the host was started with. */
function flipperPort(config: HostConfig): number {
  if (config.flipperServer.port === false) {
    throw new CliFailure(EXIT.usage, 'Flipper\'s UI endpoint is turned off ("flipperServer.port": false, SONARHOST_FLIPPER_PORT=off or --flipper-port off). Turn it on with a port, e.g. --flipper-port 52342.');
  }
  if (config.flipperServer.port === 0) throw new CliFailure(EXIT.usage, 'Flipper\'s UI port is configured as 0 (any free port): name the port the host took with --flipper-port.');
  return config.flipperServer.port;
}

async function readToken(certDir: string): Promise<string> {
  try {
    await checkPrivateFolder(certDir);
    const token = (await readPrivateFile(join(certDir, API_TOKEN_FILE))).trim();
    if (token) return token;
  } catch (error) {
    if (error instanceof UntrustedFile) throw new CliFailure(EXIT.notRunning, `Not using the token in ${certDir}: ${error.message}.`);
    if ((error as NodeJS.ErrnoException).code === 'EACCES') throw new CliFailure(EXIT.notRunning, `Cannot read the API token ${join(certDir, API_TOKEN_FILE)}: run as the user that runs the host.`);
  }
  throw new CliFailure(EXIT.notRunning, `No sonarhost has run for the certificate folder ${certDir} (no ${API_TOKEN_FILE}). Start one with "sonarhost start", or name its folder with --cert-dir.`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(3_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts the desktop's opener for the link, detached. Never fails: without an opener (or, on Linux,
 * without a graphical session, where xdg-open could take over the terminal with a text browser) the
 * answer says to open the link by hand.
 */
async function openInBrowser(url: string): Promise<string> {
  const byHand = 'Open the link above in a browser.';
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  if (process.platform !== 'darwin' && process.platform !== 'win32' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return `No graphical session (DISPLAY, WAYLAND_DISPLAY): ${byHand}`;
  }
  return new Promise((resolve) => {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsVerbatimArguments: process.platform === 'win32' });
    child.once('error', (error: NodeJS.ErrnoException) => resolve(`Could not start ${command} (${error.code ?? error.message}): ${byHand}`));
    child.once('spawn', () => {
      child.unref();
      resolve(`Opened in your browser (${command}).`);
    });
  });
}
