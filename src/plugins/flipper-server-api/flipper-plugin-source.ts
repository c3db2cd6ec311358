import type * as http from 'node:http';
import { HostError } from '../../core/host-error.js';

/**
 * Where Flipper's UI gets its plugins from. The UI ships no plugins of its own: it lists what
 * `plugins-load-dynamic-plugins` returns and evaluates the bundle `plugin-source` returns for each.
 */
export const FlipperPlugins = Symbol('sonarhost.FlipperPlugins');
export interface FlipperPlugins {
  /** InstalledPluginDetails[] for plugins-load-dynamic-plugins */
  dynamicPlugins(): Promise<unknown[]>;
  /** for plugins-get-installed-plugins (flipper-plugin-* packages installed by the user) */
  installedPlugins(): Promise<unknown[]>;
  /** plugin-source: only entries this catalog listed, never an arbitrary path; throws HostError otherwise */
  source(entry: string): Promise<string>;
}

/** The UI's own files (its HTML page, bundle, themes and icons). */
export const FlipperUiFiles = Symbol('sonarhost.FlipperUiFiles');
export interface FlipperUiFiles {
  /** Serves GET requests for the UI (index.web.html at '/', static files); false when it has no such file */
  serve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<boolean>;
  /** One line for GET / when the UI is not installed: what to install */
  readonly missing: string | undefined;
  /** Where the UI's static files are, when installed. */
  readonly staticDir?: string;
}

/** No plugins and no UI: what the host serves until the UI and its plugins are installed. */
export class EmptyFlipperPlugins implements FlipperPlugins, FlipperUiFiles {
  readonly staticDir: string | undefined = undefined;
  readonly missing = "Flipper's browser UI is not installed in this sonarhost.";

  async dynamicPlugins(): Promise<unknown[]> {
    return [];
  }

  async installedPlugins(): Promise<unknown[]> {
    return [];
  }

  async source(entry: string): Promise<string> {
    throw new HostError('device-not-found', `No Flipper plugin is installed with the entry ${JSON.stringify(entry.slice(0, 200))}; plugin-source serves only the plugins plugins-load-dynamic-plugins listed.`);
  }

  async serve(): Promise<boolean> {
    return false;
  }
}
