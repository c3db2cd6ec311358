// `adb reverse` as adbd implements it: the device keeps a table of listeners (device socket spec →
// host socket spec), tied to the transport connection that created them (a reconnect loses them, as
// on a phone). Reply framing, from the device's side of the stream (the adb server sends the first
// OKAY to its client itself when the stream opens):
//   forward / killforward / killforward-all  →  "OKAY"  (forward to tcp:0 adds a length-prefixed port)
//   list-forward                            →  "%04x" + "<transport> <device spec> <host spec>\n"…
//   failure                                 →  "FAIL" + "%04x" + message

import { type ServiceRunner } from './device-connection.js';

export interface ReverseEntry {
  /** The device side, e.g. `tcp:8089`. */
  remote: string;
  /** The host side, e.g. `tcp:8089`. */
  local: string;
  /** The transport connection it belongs to. */
  owner: object;
}

const DEVICE_SPEC = /^(tcp:\d{1,5}|localabstract:.+|localreserved:.+|localfilesystem:.+|jdwp:\d+)$/;

function protocolString(text: string): string {
  const length = Buffer.byteLength(text, 'utf8');
  return `${length.toString(16).padStart(4, '0')}${text}`;
}

export class ReverseTable {
  private readonly entries = new Map<string, ReverseEntry>();
  private nextPort = 38_000;

  list(): ReverseEntry[] {
    return [...this.entries.values()];
  }

  get(remote: string): ReverseEntry | undefined {
    return this.entries.get(remote);
  }

  /** Installs a listener; returns an error message as adbd words it, or the resolved port for tcp:0. */
  forward(remote: string, local: string, noRebind: boolean, owner: object): { port?: number } | { error: string } {
    if (!DEVICE_SPEC.test(remote) || (remote.startsWith('tcp:') && Number(remote.slice(4)) > 65535)) {
      return { error: `cannot bind listener: unknown socket specification '${remote}'` };
    }
    let port: number | undefined;
    if (remote === 'tcp:0') {
      while (this.entries.has(`tcp:${this.nextPort}`)) this.nextPort++;
      port = this.nextPort++;
      remote = `tcp:${port}`;
    }
    const existing = this.entries.get(remote);
    if (existing !== undefined && noRebind) return { error: 'cannot rebind existing socket' };
    this.entries.set(remote, { remote, local, owner });
    return { port };
  }

  kill(remote: string): boolean {
    return this.entries.delete(remote);
  }

  clear(owner?: object): void {
    for (const [key, entry] of this.entries) if (owner === undefined || entry.owner === owner) this.entries.delete(key);
  }
}

/** The runner for `reverse:<request>` on a connection called `transportName` in listings. */
export function reverseService(table: ReverseTable, request: string, owner: object, transportName: string): ServiceRunner {
  return async (channel) => {
    const fail = (message: string): Promise<void> => channel.write(`FAIL${protocolString(message)}`);
    if (request === 'list-forward') {
      const body = table.list().map((entry) => `${transportName} ${entry.remote} ${entry.local}\n`).join('');
      await channel.write(protocolString(body));
      return;
    }
    if (request === 'killforward-all') {
      table.clear();
      await channel.write('OKAY');
      return;
    }
    if (request.startsWith('killforward:')) {
      const remote = request.slice('killforward:'.length);
      if (remote === '') return fail(`bad killforward: ${request}`);
      if (!table.kill(remote)) return fail(`listener '${remote}' not found`);
      await channel.write('OKAY');
      return;
    }
    if (request.startsWith('forward:')) {
      let spec = request.slice('forward:'.length);
      const noRebind = spec.startsWith('norebind:');
      if (noRebind) spec = spec.slice('norebind:'.length);
      const pieces = spec.split(';');
      if (pieces.length !== 2 || pieces[0] === '' || pieces[1] === '' || pieces[1]!.startsWith('*')) return fail(`bad forward: ${request}`);
      const result = table.forward(pieces[0]!, pieces[1]!, noRebind, owner);
      if ('error' in result) return fail(result.error);
      await channel.write(result.port === undefined ? 'OKAY' : `OKAY${protocolString(String(result.port))}`);
      return;
    }
    await fail(`unknown reverse request: ${request}`);
  };
}
