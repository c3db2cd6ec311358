import { readFileSync } from 'node:fs';

/** sonarhost's version, from its package.json (dist/src/core → the package root), for every face that reports it. */
export function sonarhostVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
