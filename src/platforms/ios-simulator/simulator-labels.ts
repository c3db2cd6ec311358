const RUNTIME_PREFIX = 'com.apple.CoreSimulator.SimRuntime.';
const DEVICE_TYPE_PREFIX = 'com.apple.CoreSimulator.SimDeviceType.';

/** CoreSimulator's device states (SimDeviceState), as `xcrun simctl list` prints them. */
const STATES: Record<number, string> = { 0: 'Creating', 1: 'Shutdown', 2: 'Booting', 3: 'Booted', 4: 'ShuttingDown' };

export function stateLabel(state: number): string {
  return STATES[state] ?? `Unknown (${state})`;
}

/** `com.apple.CoreSimulator.SimRuntime.iOS-17-2` → `iOS 17.2`; anything else is shown as it is. */
export function runtimeLabel(runtime: string): string {
  const match = runtime.startsWith(RUNTIME_PREFIX) ? /^([A-Za-z]+)-(\d+(?:-\d+)*)$/.exec(runtime.slice(RUNTIME_PREFIX.length)) : null;
  return match ? `${match[1]} ${match[2]!.replace(/-/g, '.')}` : runtime;
}

/** `com.apple.CoreSimulator.SimDeviceType.iPhone-15-Pro` → `iPhone 15 Pro`. */
export function deviceTypeLabel(deviceType: string): string {
  return deviceType.startsWith(DEVICE_TYPE_PREFIX) ? deviceType.slice(DEVICE_TYPE_PREFIX.length).replace(/-/g, ' ') : deviceType;
}
