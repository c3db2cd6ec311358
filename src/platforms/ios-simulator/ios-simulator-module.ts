import { ContainerModule } from 'inversify';
import { DeviceTransport } from '../../core/device-transport.js';
import { CoreSimulatorDevices } from './core-simulator-devices.js';
import { IosSimulatorDeviceTransport } from './ios-simulator-device-transport.js';

export const iosSimulatorModule = new ContainerModule(({ bind }) => {
  bind(CoreSimulatorDevices).toSelf().inSingletonScope();
  bind(IosSimulatorDeviceTransport).toSelf().inSingletonScope();
  bind(DeviceTransport).toService(IosSimulatorDeviceTransport);
});
