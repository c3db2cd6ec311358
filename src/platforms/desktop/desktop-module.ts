import { ContainerModule } from 'inversify';
import { DeviceTransport } from '../../core/device-transport.js';
import { DesktopDeviceTransport } from './desktop-device-transport.js';

export const desktopModule = new ContainerModule(({ bind }) => {
  bind(DesktopDeviceTransport).toSelf().inSingletonScope();
  bind(DeviceTransport).toService(DesktopDeviceTransport);
});
