import { ContainerModule } from 'inversify';
import { DeviceTransport } from '../../core/device-transport.js';
import { IosPhysicalDeviceTransport } from './ios-physical-device-transport.js';

export const iosPhysicalModule = new ContainerModule(({ bind }) => {
  bind(IosPhysicalDeviceTransport).toSelf().inSingletonScope();
  bind(DeviceTransport).toService(IosPhysicalDeviceTransport);
});
