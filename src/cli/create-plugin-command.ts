import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HostError } from '../core/host-error.js';
import { PACKAGE_ROOT } from '../core/package-root.js';
import { PLUGIN_API_VERSION } from '../core/plugin-descriptor.js';
import { sonarhostVersion } from '../core/sonarhost-version.js';
import { SCAFFOLD_KINDS, type ScaffoldKind, scaffoldFiles } from './create-plugin/plugin-templates.js';

export const CREATE_PLUGIN_HELP = `Usage: sonarhost create-plugin <folder> --kind <kind> [options]

Writes a ready plugin package into <folder> (which must not exist or be empty): package.json,
a TypeScript source, a test that uses sonarhost/testing, and a README. Then:

  cd <folder> && npm install && npm test

Kinds:
  device-transport     carries certificates to apps on a kind of device (binds DeviceTransport)
  connection-handler   works with connected apps and their plugin events (binds ConnectionHandler)
  service              runs alongside the host, started and stopped with it (binds HostService)

Options:
  --kind KIND          one of the kinds above (required)
  --name NAME          npm package name (default: the folder's name)
  --sonarhost SPEC     what the package installs as sonarhost for its own tests: a version range,
                       or file:<tarball made by "npm pack"> (default: this installed sonarhost,
                       as file:<its folder>); the plugin declares sonarhost ^${ownVersion()} as a
                       peer dependency either way
  -h, --help           show this help

The plugin is built against plugin API ${PLUGIN_API_VERSION}; the host refuses plugins of another major.`;

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

export async function createPluginCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { kind: { type: 'string' }, name: { type: 'string' }, sonarhost: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(CREATE_PLUGIN_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw usage(positionals.length === 0 ? 'name the folder to create the plugin in' : `expected one folder, got ${positionals.join(' ')}`);
  if (!values.kind || !(SCAFFOLD_KINDS as readonly string[]).includes(values.kind)) {
    throw usage(`--kind must be one of ${SCAFFOLD_KINDS.join(', ')}${values.kind ? `, got "${values.kind}"` : ''}`);
  }
  const folder = resolve(positionals[0]!);
  const packageName = values.name ?? basename(folder);
  if (!PACKAGE_NAME.test(packageName)) {
    throw usage(`"${packageName}" is not a valid npm package name (lower case letters, digits, ".", "_", "-", optionally @scope/); pass --name`);
  }
  const existing = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new HostError('config-invalid', `Cannot use ${folder}: ${error.message}.`);
  });
  if (existing.length > 0) throw new HostError('config-invalid', `${folder} is not empty (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? ', …' : ''}): choose a new folder; nothing was written.`);

  const range = `^${ownVersion()}`;
  const files = scaffoldFiles({
    packageName,
    id: packageName.replace(/^@[^/]+\//, ''),
    kind: values.kind as ScaffoldKind,
    sonarhostRange: range,
    sonarhostDevSpec: values.sonarhost ?? defaultDevSpec(range),
  });
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), contents);
  }
  process.stdout.write(
    `Created the ${values.kind} plugin "${packageName}" in ${folder}:\n${Object.keys(files).map((f) => `  ${f}`).join('\n')}\n\n` +
      `Next: cd ${positionals[0]} && npm install && npm test\n`,
  );
  return 0;
}

function usage(problem: string): HostError {
  return new HostError('config-invalid', `create-plugin: ${problem}. Run "sonarhost create-plugin --help".`);
}

/** This sonarhost's own folder when it is an installed package (it ships declarations), else the range. */
function defaultDevSpec(range: string): string {
  const folder = PACKAGE_ROOT;
  if (existsSync(join(folder, 'dist/src/core/plugin-api.d.ts'))) return `file:${folder.replace(/[\\/]$/, '')}`;
  process.stderr.write(`note: this sonarhost is a source checkout without declarations; the package will install sonarhost ${range}. Run "npm pack" in the checkout and pass --sonarhost file:<tarball> to test against it.\n`);
  return range;
}

function ownVersion(): string {
  const version = sonarhostVersion();
  if (version === 'unknown') throw new HostError('internal', `create-plugin: cannot read sonarhost's own package.json in ${PACKAGE_ROOT}; reinstall sonarhost.`);
  return version;
}
