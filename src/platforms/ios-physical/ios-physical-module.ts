import { ContainerModule } from 'inversify';
import { DeviceTransport } from '../../core/device-transport.js';
import { HostService } from '../../core/host-service.js';
import { IosPhysicalDeviceTransport } from './ios-physical-device-transport.js';
import { IosPhysicalDevices } from './ios-physical-devices.js';

export const iosPhysicalModule = new ContainerModule(({ bind }) => {
  bind(IosPhysicalDevices).toSelf().inSingletonScope();
  bind(HostService).toService(IosPhysicalDevices);
  bind(IosPhysicalDeviceTransport).toSelf().inSingletonScope();
  bind(DeviceTransport).toService(IosPhysicalDeviceTransport);
});
