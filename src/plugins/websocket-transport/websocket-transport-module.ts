import { ContainerModule } from 'inversify';
import { HostService } from '../../core/host-service.js';
import { WebSocketTransportService } from './websocket-transport-service.js';

export const webSocketTransportModule = new ContainerModule(({ bind }) => {
  bind(WebSocketTransportService).toSelf().inSingletonScope();
  bind(HostService).toService(WebSocketTransportService);
});
