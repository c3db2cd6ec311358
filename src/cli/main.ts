#!/usr/bin/env node
import 'reflect-metadata';
import { HostError } from '../core/host-error.js';
import { sonarhostVersion } from '../core/sonarhost-version.js';
// Commands load on demand: `sonarhost --version` or `certs` need not load the transports and platforms.
const COMMANDS: Record<string, { load: () => Promise<(args: string[]) => Promise<number>>; summary: string }> = {
  start: { load: async () => (await import('./start-command.js')).startCommand, summary: 'run the host (the default command)' },
  certs: { load: async () => (await import('./certs-command.js')).certsCommand, summary: 'show, renew or rotate the certificates' },
  devices: { load: async () => (await import('./devices-command.js')).devicesCommand, summary: 'list Android devices, iOS simulators, USB-attached iPhones and this computer' },
  doctor: { load: async () => (await import('./doctor-command.js')).doctorCommand, summary: 'check ports, certificates, adb and simulators, and say how to fix problems' },
  config: { load: async () => (await import('./config-command.js')).configCommand, summary: 'print the effective configuration and where each value came from' },
  status: { load: async () => (await import('./status-command.js')).statusCommand, summary: 'whether a host is running for the certificate folder, and where' },
  clients: { load: async () => (await import('./clients-command.js')).clientsCommand, summary: 'list the apps connected to the running host' },
  call: { load: async () => (await import('./call-command.js')).callCommand, summary: 'call a method of a connected app and print the answer' },
  ui: { load: async () => (await import('./ui-command.js')).uiCommand, summary: "open Flipper's own UI on the running host (prints the login link)" },
  events: { load: async () => (await import('./events-command.js')).eventsCommand, summary: 'follow the running host\'s events' },
  mcp: { load: async () => (await import('./mcp-command.js')).mcpCommand, summary: 'a Model Context Protocol server on stdio, for coding agents (--embedded: with its own host)' },
  'create-plugin': { load: async () => (await import('./create-plugin-command.js')).createPluginCommand, summary: 'write a new plugin package (device transport, connection handler or service)' },
};

const USAGE = `Usage: sonarhost [command] [options]

The desktop side of the Flipper connection: certificate exchange and secure servers for apps
that embed a Flipper SDK.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c], _, all) => `  ${name.padEnd(Math.max(...all.map(([n]) => n.length)) + 2)} ${c.summary}`)
  .join('\n')}

Options:
  --help, -h      this text; "sonarhost <command> --help" gives the options of a command
  --version, -v   print the version`;

/** The command being run, for the hint after a usage error. */
let running = 'start';

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v') {
    process.stdout.write(sonarhostVersion() + '\n');
    return 0;
  }
  if (first === 'help' || ((first === '--help' || first === '-h') && rest.length === 0)) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (first !== undefined && !first.startsWith('-')) {
    const command = COMMANDS[first];
    if (!command) {
      process.stderr.write(`sonarhost: unknown command "${first}".\n\n${USAGE}\n`);
      return 2;
    }
    running = first;
    return (await command.load())(rest);
  }
  return (await COMMANDS.start!.load())(argv);
}

/**
 * After a failure, whatever the failed command left behind (a socket to a peer that never answers, a
 * timer of a service that started too late) must not keep the process alive: it exits with its code.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 1_000).unref();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (code !== 0) exitSoon();
  },
  (error: unknown) => {
    exitSoon();
    if (error instanceof HostError) {
      process.stderr.write(`sonarhost: ${error.message}\n`);
      process.exitCode = 1;
    } else if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sonarhost: ${error.message}. Run "sonarhost ${running} --help" for its options.\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`sonarhost: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
