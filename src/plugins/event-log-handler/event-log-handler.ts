import { inject, injectable } from 'inversify';
import { type AppClient, type ConnectionHandler, type PluginEvent } from '../../core/connection-handler.js';
import { Logger } from '../../core/logger.js';

/**
 * The default connection handler: claims every plugin, so the host inits the apps' background plugins
 * as Flipper's desktop does, and logs what happens at debug. Connections are at debug too: the client
 * registry already writes one info line for each, and a second, synchronous stderr write per connect
 * and disconnect showed in the secure set-up's CPU profile.
 */
@injectable()
export class EventLogHandler implements ConnectionHandler {
  readonly id = 'event-log';
  private readonly log: Logger;

  constructor(@inject(Logger) logger: Logger) {
    this.log = logger.child('events');
  }

  claims(): boolean {
    return true;
  }

  onClientConnected(client: AppClient): void {
    this.log.debug('app connected', { client: client.id, plugins: client.plugins(), background: client.backgroundPlugins() });
  }

  onClientDisconnected(client: AppClient): void {
    this.log.debug('app disconnected', { client: client.id });
  }

  onEvent(client: AppClient, event: PluginEvent): void {
    this.log.debug('plugin event', { client: client.id, plugin: event.plugin, method: event.method });
  }
}
