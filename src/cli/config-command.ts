import { parseArgs } from 'node:util';
import { COMMON_HELP, COMMON_OPTIONS, loadConfigFromFlags } from './cli-context.js';

export const CONFIG_HELP = `Usage: sonarhost config [options]

Prints the effective configuration and where each setting came from (default, config file,
environment variable or flag). Validates everything, so it also tells whether a config is usable.

Options:
  --json               print {config, origins, file} as JSON

${COMMON_HELP}`;

export async function configCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(CONFIG_HELP + '\n');
    return 0;
  }
  const { config, origins, file } = await loadConfigFromFlags(values);
  if (values.json) {
    process.stdout.write(JSON.stringify({ config, origins, file: file ?? null }, null, 2) + '\n');
    return 0;
  }
  const lines = [`config file: ${file ?? '(none)'}`, ''];
  for (const [key, value] of Object.entries(config)) {
    lines.push(`${key} = ${JSON.stringify(value)}`, `    from ${origins[key] ?? 'default'}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
