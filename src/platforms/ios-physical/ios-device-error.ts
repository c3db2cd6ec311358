import { HostError, type HostErrorKind } from '../../core/host-error.js';

/**
 * Why a phone cannot serve an exchange right now; `sonarhost devices`, doctor and the API show it as the
 * device's state, and the refusal says what the user does about it.
 */
export type IosDeviceState = 'not-paired' | 'pairing-rejected' | 'locked' | 'not-development-signed' | 'unreachable';

/** A HostError that also names the device state behind it. */
export class IosDeviceError extends HostError {
  constructor(
    kind: HostErrorKind,
    readonly state: IosDeviceState,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(kind, message, options);
  }
}

export const PAIRING_HELP =
  'Unlock the device, plug it in over USB and tap "Trust" when it asks whether to trust this computer ' +
  '(on a Mac, Finder shows the prompt; on Linux run `idevicepair pair` with the device unlocked), then let the app retry.';

export function notPaired(udid: string): IosDeviceError {
  return new IosDeviceError('device-unavailable', 'not-paired', `The iPhone or iPad ${udid} is not paired with this computer (usbmuxd has no pair record for it). ${PAIRING_HELP}`);
}

export function pairingRejected(udid: string, detail: string): IosDeviceError {
  return new IosDeviceError(
    'device-unavailable',
    'pairing-rejected',
    `The iPhone or iPad ${udid} no longer accepts this computer's pairing (${detail}); it was probably reset or "Reset Location & Privacy" was used. Remove the old record (\`idevicepair unpair\` on Linux) and pair again: ${PAIRING_HELP}`,
  );
}

export function locked(udid: string, detail: string): IosDeviceError {
  return new IosDeviceError('device-unavailable', 'locked', `The iPhone or iPad ${udid} is locked (${detail}). Unlock it (enter the passcode) and keep it unlocked while the app connects; the app retries by itself.`);
}

export function notDevelopmentSigned(udid: string, bundleId: string): IosDeviceError {
  return new IosDeviceError(
    'device-not-found',
    'not-development-signed',
    `The iPhone or iPad ${udid} does not let this computer into the container of ${bundleId} (InstallationLookupFailed): the app is not installed there, or it is not development-signed ` +
      '(App Store, TestFlight and ad-hoc builds cannot be reached). Install a development build of the app (run it from Xcode with a development profile), ' +
      'and check that the CSR\'s CN is the app\'s bundle id.',
  );
}

export function unreachable(udid: string, detail: string, options?: { cause?: unknown }): IosDeviceError {
  return new IosDeviceError('device-unavailable', 'unreachable', `sonarhost cannot talk to the iPhone or iPad ${udid}: ${detail}. Unplug and replug it, unlock it, and let the app retry.`, options);
}
