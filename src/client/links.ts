/**
 * What the client needs from a transport, so the connection logic is written once for RSocket and
 * WebSocket: an exchange channel (one request, one answer) and a secure link carrying the plugin
 * protocol.
 */
export interface ExchangeLink {
  /** Sends the signCertificate request and resolves with the host's answer text. */
  request(data: string): Promise<string>;
  /** A message that expects no answer (the WebSocket-era `signCertificateAck`). */
  notify(data: string): void;
  close(): void;
}

export interface SecureLink {
  send(message: Record<string, unknown>): void;
  close(): void;
  /** Resolves when the link ends, with the reason when there was one. */
  closed: Promise<Error | undefined>;
}

/** How the client answers the host over a secure link. */
export interface HostCallHandlers {
  /** A request that expects an answer (RSocket request-response, or a WebSocket message with an id). */
  request(method: unknown, params: unknown): Promise<Record<string, unknown>>;
  /** A message that expects no answer on this transport (RSocket fire-and-forget, WebSocket without id). */
  message(text: string): void;
}

export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}
