import { fileURLToPath } from 'node:url';

/**
 * The folder of this sonarhost install (where its package.json is), as a file URL ending in "/".
 * Computed from this module's own place, three levels below the root: dist/src/core for the compiled
 * modules, dist/src/bundle when it runs from the start-up bundle (scripts/bundle.js writes the bundle
 * at that depth so that this stays true).
 */
export const PACKAGE_ROOT_URL = new URL('../../../', import.meta.url);

/** PACKAGE_ROOT_URL as a path, with a trailing separator. */
export const PACKAGE_ROOT = fileURLToPath(PACKAGE_ROOT_URL);
