import { ContainerModule } from 'inversify';
import { HostService } from '../../core/host-service.js';
import { FlipperPlugins, FlipperUiFiles } from './flipper-plugin-source.js';
import { FlipperServerApiService } from './flipper-server-api-service.js';
import { InstalledFlipperUi } from './installed-flipper-ui.js';

export const flipperServerApiModule = new ContainerModule(({ bind }) => {
  bind(InstalledFlipperUi).toSelf().inSingletonScope();
  bind(FlipperPlugins).toService(InstalledFlipperUi);
  bind(FlipperUiFiles).toService(InstalledFlipperUi);
  bind(FlipperServerApiService).toSelf().inSingletonScope();
  bind(HostService).toService(FlipperServerApiService);
});
