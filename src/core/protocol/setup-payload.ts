import { CertificateExchangeMedium, type ClientQuery } from '../client-query.js';
import { HostError } from '../host-error.js';
import { parseJsonObject } from './json-message.js';

const MAX_FIELD = 512;

/** Fields of the secure SETUP beyond the identity: the CSR and where it lives on the device. */
export interface SecureSetup {
  query: ClientQuery;
  csr: string | undefined;
  csrPath: string | undefined;
}

/**
 * The SETUP JSON of both RSocket servers. Key sets vary by SDK generation (see docs/protocol-rsocket.md,
 * "SETUP payload" and "Secure connection"): `sdk_version`, `medium` and `device_id` may be absent. Strings are bounded so a hostile
 * payload cannot make ids or log lines huge.
 */
export function parseSetupQuery(data: unknown, where: string): ClientQuery {
  const json = parseJsonObject(data, `The ${where} SETUP data`);
  return {
    os: requiredString(json, 'os', where),
    device: requiredString(json, 'device', where),
    app: requiredString(json, 'app', where),
    deviceId: optionalString(json, 'device_id', where) ?? 'unknown',
    sdkVersion: optionalInteger(json, 'sdk_version', where) ?? 0,
    medium: parseMedium(json.medium, where),
  };
}

export function parseSecureSetup(data: unknown): SecureSetup {
  const query = parseSetupQuery(data, 'secure');
  const json = parseJsonObject(data, 'The secure SETUP data');
  return { query, csr: optionalString(json, 'csr', 'secure', 16 * 1024), csrPath: optionalString(json, 'csr_path', 'secure') };
}

/** Absent means FS_ACCESS (older SDKs); anything outside 1–3 is refused, as upstream does since v0.108. */
export function parseMedium(value: unknown, where: string): CertificateExchangeMedium {
  if (value === undefined || value === null) return CertificateExchangeMedium.FS_ACCESS;
  if (value === 1 || value === 2 || value === 3) return value;
  throw new HostError('exchange-unsupported', `Unknown certificate exchange medium ${JSON.stringify(value)} in the ${where} request; expected 1 (FS_ACCESS), 2 (WWW) or 3 (NONE).`);
}

function requiredString(json: Record<string, unknown>, key: string, where: string): string {
  const value = optionalString(json, key, where);
  if (value === undefined || value === '') throw new HostError('protocol-invalid', `The ${where} SETUP data lacks "${key}" (a non-empty string).`);
  return value;
}

function optionalString(json: Record<string, unknown>, key: string, where: string, max = MAX_FIELD): string | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HostError('protocol-invalid', `"${key}" in the ${where} SETUP data must be a string.`);
  if (value.length > max) throw new HostError('protocol-invalid', `"${key}" in the ${where} SETUP data is longer than ${max} characters.`);
  if (/[\u0000-\u001f]/.test(value) && key !== 'csr') throw new HostError('protocol-invalid', `"${key}" in the ${where} SETUP data contains control characters.`);
  return value;
}

function optionalInteger(json: Record<string, unknown>, key: string, where: string): number | undefined {
  const value = json[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
    throw new HostError('protocol-invalid', `"${key}" in the ${where} SETUP data must be a small whole number.`);
  }
  return value;
}
