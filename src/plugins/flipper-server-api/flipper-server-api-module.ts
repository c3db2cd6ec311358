import { ContainerModule } from 'inversify';
import { HostService } from '../../core/host-service.js';
import { EmptyFlipperPlugins, FlipperPlugins, FlipperUiFiles } from './flipper-plugin-source.js';
import { FlipperServerApiService } from './flipper-server-api-service.js';

export const flipperServerApiModule = new ContainerModule(({ bind }) => {
  bind(EmptyFlipperPlugins).toSelf().inSingletonScope();
  bind(FlipperPlugins).toService(EmptyFlipperPlugins);
  bind(FlipperUiFiles).toService(EmptyFlipperPlugins);
  bind(FlipperServerApiService).toSelf().inSingletonScope();
  bind(HostService).toService(FlipperServerApiService);
});
