// Configuration of a fake Android device: identity (the properties adb and our transport read),
// installed packages, and the quirks tests need to reproduce (unauthorized, rooted, Samsung's run-as).

export interface FakePackage {
  package: string;
  /** android:debuggable: run-as works only for debuggable packages. */
  debuggable: boolean;
  /** False for packages that are not applications (run-as: package not an application). Default true. */
  isApplication?: boolean;
  /** Linux uid of the app; defaults to 10000 + its index in the package list + 100. */
  uid?: number;
}

export interface FakeDeviceOptions {
  /** ro.product.model (default `Fake Pixel`). */
  model?: string;
  /** ro.product.name (default `fake_pixel`). */
  name?: string;
  /** ro.product.device (default `fakepixel`). */
  device?: string;
  /** ro.build.version.sdk (default `30`). */
  sdk?: string | number;
  /** ro.build.version.release (default `11`). */
  release?: string;
  /** ro.product.cpu.abilist (default `x86_64,x86,arm64-v8a`). */
  abilist?: string;
  /** Any other properties, added to (or overriding) the defaults. */
  props?: Record<string, string>;
  packages?: FakePackage[];
  /** `su` exists and works (default false: `/system/bin/sh: su: not found`). */
  rooted?: boolean;
  /** Start in "unauthorized" mode: the device keeps re-challenging AUTH (default false). */
  unauthorized?: boolean;
  /** Every run-as fails with `run-as: Could not set capabilities: Operation not permitted` (some Samsung builds). */
  runAsCapabilityBug?: boolean;
  /**
   * An adbd from before Android 5: no `exec:` service (refused), and `shell:` commands run under a
   * terminal that turns every LF of their output into CRLF, binary output included.
   */
  legacyShell?: boolean;
  /** Transport features announced in the CNXN banner. Never include shell_v2 (not implemented). */
  features?: string[];
  /** Host folder for the device's files (default: a fresh temporary folder, removed by stop()). */
  root?: string;
  /** TCP port to listen on (default 0: any free port). Always 127.0.0.1. */
  port?: number;
  /** Log transport traffic: true for stderr, or a function receiving each line. */
  debug?: boolean | ((line: string) => void);
}

export const DEFAULT_FEATURES = ['cmd', 'stat_v2', 'ls_v2', 'fixed_push_mkdir'];

/** The device's full property table, defaults first, as `getprop` lists it (sorted on output). */
export function deviceProperties(options: FakeDeviceOptions): Map<string, string> {
  const props = new Map<string, string>([
    ['ro.product.model', options.model ?? 'Fake Pixel'],
    ['ro.product.name', options.name ?? 'fake_pixel'],
    ['ro.product.device', options.device ?? 'fakepixel'],
    ['ro.product.brand', 'fake'],
    ['ro.product.manufacturer', 'Fake'],
    ['ro.build.version.sdk', String(options.sdk ?? '30')],
    ['ro.build.version.release', options.release ?? '11'],
    ['ro.product.cpu.abi', (options.abilist ?? 'x86_64,x86,arm64-v8a').split(',')[0] ?? ''],
    ['ro.product.cpu.abilist', options.abilist ?? 'x86_64,x86,arm64-v8a'],
    ['ro.build.type', 'user'],
    ['ro.build.characteristics', 'default'],
    ['ro.debuggable', '0'],
    ['ro.secure', '1'],
    ['ro.serialno', 'FAKE00000001'],
    ['sys.boot_completed', '1'],
    ['init.svc.adbd', 'running'],
    ['persist.sys.timezone', 'Etc/UTC'],
  ]);
  for (const [key, value] of Object.entries(options.props ?? {})) props.set(key, value);
  return props;
}
