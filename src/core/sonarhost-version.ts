import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT_URL } from './package-root.js';

/** sonarhost's version, from its package.json, for every face that reports it ('unknown' if unreadable). */
export function sonarhostVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT_URL), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
