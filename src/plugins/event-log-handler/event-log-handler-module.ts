import { ContainerModule } from 'inversify';
import { ConnectionHandler } from '../../core/connection-handler.js';
import { EventLogHandler } from './event-log-handler.js';

export const eventLogHandlerModule = new ContainerModule(({ bind }) => {
  bind(EventLogHandler).toSelf().inSingletonScope();
  bind(ConnectionHandler).toService(EventLogHandler);
});
