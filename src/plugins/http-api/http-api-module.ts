import { ContainerModule } from 'inversify';
import { HostService } from '../../core/host-service.js';
import { HttpApiService } from './http-api-service.js';

export const httpApiModule = new ContainerModule(({ bind }) => {
  bind(HttpApiService).toSelf().inSingletonScope();
  bind(HostService).toService(HttpApiService);
});
