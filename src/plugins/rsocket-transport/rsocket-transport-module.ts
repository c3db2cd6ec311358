import { ContainerModule } from 'inversify';
import { HostService } from '../../core/host-service.js';
import { RSocketTransportService } from './rsocket-transport-service.js';

export const rsocketTransportModule = new ContainerModule(({ bind }) => {
  bind(RSocketTransportService).toSelf().inSingletonScope();
  bind(HostService).toService(RSocketTransportService);
});
