import { ContainerModule } from 'inversify';
import { DeviceTransport } from '../../core/device-transport.js';
import { HostService } from '../../core/host-service.js';
import { AndroidDevices } from './android-devices.js';
import { AndroidDeviceTransport } from './android-device-transport.js';

export const androidModule = new ContainerModule(({ bind }) => {
  bind(AndroidDevices).toSelf().inSingletonScope();
  bind(HostService).toService(AndroidDevices);
  bind(AndroidDeviceTransport).toSelf().inSingletonScope();
  bind(DeviceTransport).toService(AndroidDeviceTransport);
});
