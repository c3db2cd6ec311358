import { decode, encode } from 'node:querystring';
import { CertificateExchangeMedium, type ClientQuery } from '../client-query.js';
import { HostError } from '../host-error.js';
import { parseMedium } from './setup-payload.js';

const MAX_FIELD = 512;

export interface WebSocketIdentity {
  query: ClientQuery;
  appId: string | undefined;
  csr: string | undefined;
  csrPath: string | undefined;
}

/**
 * Identity from the upgrade URL (docs/protocol-websocket.md, "The app's identity"): everything after the first `?`, decoded as Node's
 * querystring does (`+` is a space); the path is ignored. `csr` is base64 of the PEM, decoded
 * tolerantly (a space stands for a `+` that lost its escaping).
 */
export function parseWebSocketQuery(url: string | undefined, port: 'insecure' | 'secure' | 'browser'): WebSocketIdentity {
  const at = (url ?? '').indexOf('?');
  const raw = decode(at < 0 ? '' : (url ?? '').slice(at + 1));
  const get = (key: string, max = MAX_FIELD): string | undefined => {
    const value = raw[key];
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined) return undefined;
    if (text.length > max) throw new HostError('protocol-invalid', `The "${key}" query parameter is longer than ${max} characters.`);
    if (/[\u0000-\u001f]/.test(text)) throw new HostError('protocol-invalid', `The "${key}" query parameter contains control characters.`);
    return text;
  };

  if (port === 'browser') {
    // js-flipper and older web clients send only some keys; upstream fills these defaults first.
    const device = get('device') ?? 'unknown';
    const deviceId = get('device_id') ?? get('deviceId') ?? device;
    return {
      query: { os: get('os') ?? 'MacOS', device, app: get('app') ?? device, deviceId, sdkVersion: integer(get('sdk_version')) ?? 4, medium: CertificateExchangeMedium.NONE },
      appId: get('app_id'),
      csr: undefined,
      csrPath: undefined,
    };
  }

  const required = (key: string) => {
    const value = get(key);
    if (value === undefined || value === '') throw new HostError('protocol-invalid', `The WebSocket URL lacks the "${key}" query parameter.`);
    return value;
  };
  // No list of OSes here: as on RSocket, the exchange asks the configured device transports which one
  // serves the request (a plugin may add an OS), and refuses with a logged reason when none does.
  const os = required('os');
  const mediumText = get('medium');
  const query: ClientQuery = {
    os,
    device: required('device'),
    app: required('app'),
    deviceId: get('device_id') ?? 'unknown',
    sdkVersion: integer(get('sdk_version')) ?? 4,
    medium: parseMedium(mediumText === undefined ? undefined : Number(mediumText), `WebSocket ${port}`),
  };
  const csrBase64 = get('csr', 24 * 1024);
  return { query, appId: get('app_id'), csr: csrBase64 === undefined ? undefined : decodeCsr(csrBase64), csrPath: get('csr_path') };
}

function integer(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,4}$/.test(text)) return undefined;
  return Number(text);
}

function decodeCsr(base64: string): string {
  const text = Buffer.from(base64.replace(/ /g, '+').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (!text.includes('-----BEGIN')) throw new HostError('protocol-invalid', 'The "csr" query parameter is not base64 of a PEM CSR.');
  return text;
}

/** Builds the query an SDK sends (used by the client SDK), with `csr` as base64 of the PEM. */
export function buildWebSocketQuery(query: ClientQuery, extra: { appId?: string; csr?: string; csrPath?: string } = {}): string {
  const fields: Record<string, string | number> = {
    os: query.os,
    device: query.device,
    device_id: query.deviceId,
    app: query.app,
    sdk_version: query.sdkVersion,
    medium: query.medium,
  };
  if (extra.appId) fields.app_id = extra.appId;
  if (extra.csrPath) fields.csr_path = extra.csrPath;
  let text = encode(fields);
  if (extra.csr) text += `&csr=${Buffer.from(extra.csr, 'latin1').toString('base64')}`; // not escaped, as the SDKs send it
  return text;
}
