import { type ClientPlugin } from '../../src/client/client-plugin.js';

/** `{key, value}` pairs, as Flipper's Network plugin carries headers. */
export type NetworkHeaders = Array<{ key: string; value: string }>;

export interface ReportedRequest {
  id: string;
  method: string;
  url: string;
  status: number;
  /** The response body (sent base64-encoded). */
  body: string;
}

/**
 * One request as an app's Network plugin (`Network`, e.g. Android's NetworkFlipperPlugin) reports it:
 * `newRequest` then `newResponse`, each an event of the plugin. Timestamps are milliseconds; bodies
 * are base64. The response names its Content-Length: the 0.162 UI plugin otherwise measures the body
 * with Node's Buffer, which the browser build lacks, and the error drops the rest of that batch.
 */
export function networkMessages(request: ReportedRequest, now = Date.now()): Array<{ method: 'newRequest' | 'newResponse'; params: Record<string, unknown> }> {
  const body = Buffer.from(request.body);
  return [
    {
      method: 'newRequest',
      params: { id: request.id, timestamp: now, method: request.method, url: request.url, headers: [{ key: 'Accept', value: 'application/json' }] satisfies NetworkHeaders, data: '' },
    },
    {
      method: 'newResponse',
      params: {
        id: request.id,
        timestamp: now + 12,
        status: request.status,
        reason: 'OK',
        headers: [
          { key: 'Content-Type', value: 'application/json' },
          { key: 'Content-Length', value: String(body.length) },
        ] satisfies NetworkHeaders,
        data: body.toString('base64'),
        isMock: false,
        insights: null,
      },
    },
  ];
}

/**
 * Our client SDK's Network plugin: reports `requests` each time the desktop sends `init` (the UI does
 * when the user enables the plugin), and counts the inits. Not a background plugin, as on Android, so
 * nothing is sent before the UI asks.
 */
export function sdkNetworkPlugin(requests: ReportedRequest[]): ClientPlugin & { inits: number } {
  const plugin: ClientPlugin & { inits: number } = {
    id: 'Network',
    runInBackground: false,
    inits: 0,
    receivers: {},
    onConnect(connection) {
      plugin.inits++;
      for (const request of requests) for (const { method, params } of networkMessages(request)) connection.send(method, params);
    },
  };
  return plugin;
}
