import { lstat, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { type Duplex } from 'node:stream';
import { ByteQueue } from './byte-queue.js';

const MAGIC = 'CFA6LPAA';
const OP = { status: 1, data: 2, removePath: 8, getFileInfo: 10, fileOpen: 13, fileOpenResult: 14, fileRead: 15, fileWrite: 16, fileClose: 20, renamePath: 24 };
const ERR = { success: 0, unknown: 1, badHeader: 2, notFound: 8, isDirectory: 9, permissionDenied: 10 };

/** One AFC operation as the fake saw it, for assertions (`rename a → b`, `open w x`). */
export type AfcLogEntry = string;

/**
 * AFC over a folder that plays the app's data container, as house_arrest vends it: paths are relative to
 * the container and cannot leave it (the sandbox: `..` past the root is permission denied, like the
 * phone); file info reports links as links (lstat).
 */
export function serveAfc(socket: Duplex, container: string, log: AfcLogEntry[]): void {
  const queue = new ByteQueue(socket);
  const handles = new Map<bigint, FileHandle>();
  let nextHandle = 1n;

  const reply = (packet: bigint, operation: number, headerData: Buffer, payload = Buffer.alloc(0)) => {
    const header = Buffer.alloc(40);
    header.write(MAGIC, 0, 'ascii');
    header.writeBigUInt64LE(BigInt(40 + headerData.length + payload.length), 8);
    header.writeBigUInt64LE(BigInt(40 + headerData.length), 16);
    header.writeBigUInt64LE(packet, 24);
    header.writeBigUInt64LE(BigInt(operation), 32);
    socket.write(Buffer.concat([header, headerData, payload]));
  };
  const status = (packet: bigint, code: number) => {
    const data = Buffer.alloc(8);
    data.writeBigUInt64LE(BigInt(code), 0);
    reply(packet, OP.status, data);
  };
  const inside = (path: string): string | undefined => {
    const full = resolve(container, path.replace(/^\/+/, ''));
    const rest = relative(container, full);
    return rest === '' || (!rest.startsWith('..' + sep) && rest !== '..' && !isAbsolute(rest)) ? full : undefined;
  };
  const cString = (data: Buffer, from = 0): [string, number] => {
    const end = data.indexOf(0, from);
    const stop = end === -1 ? data.length : end;
    return [data.subarray(from, stop).toString('utf8'), stop + 1];
  };
  const errno = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? ERR.notFound : code === 'EISDIR' ? ERR.isDirectory : code === 'EACCES' || code === 'ELOOP' ? ERR.permissionDenied : ERR.unknown;
  };

  void (async () => {
    for (;;) {
      const header = await queue.take(40);
      if (!header) break;
      if (header.subarray(0, 8).toString('ascii') !== MAGIC) {
        socket.destroy();
        break;
      }
      const entire = Number(header.readBigUInt64LE(8));
      const own = Number(header.readBigUInt64LE(16));
      const packet = header.readBigUInt64LE(24);
      const operation = Number(header.readBigUInt64LE(32));
      const headerData = (await queue.take(own - 40))!;
      const payload = (await queue.take(entire - own))!;
      if (!headerData || !payload) break;
      try {
        if (operation === OP.getFileInfo) {
          const [path] = cString(headerData);
          log.push(`info ${path}`);
          const full = inside(path);
          if (!full) { status(packet, ERR.permissionDenied); continue; }
          const info = await lstat(full);
          const type = info.isSymbolicLink() ? 'S_IFLNK' : info.isDirectory() ? 'S_IFDIR' : info.isFile() ? 'S_IFREG' : 'S_IFIFO';
          reply(packet, OP.data, Buffer.alloc(0), Buffer.from(`st_size\0${info.size}\0st_blocks\0${info.blocks}\0st_nlink\0${info.nlink}\0st_ifmt\0${type}\0`));
        } else if (operation === OP.fileOpen) {
          const mode = Number(headerData.readBigUInt64LE(0));
          const [path] = cString(headerData, 8);
          log.push(`open ${mode === 1 ? 'r' : mode === 3 ? 'w' : mode} ${path}`);
          const full = inside(path);
          if (!full) { status(packet, ERR.permissionDenied); continue; }
          const handle = await open(full, mode === 1 ? 'r' : mode === 3 ? 'w' : 'r+');
          const id = nextHandle++;
          handles.set(id, handle);
          const data = Buffer.alloc(8);
          data.writeBigUInt64LE(id, 0);
          reply(packet, OP.fileOpenResult, data);
        } else if (operation === OP.fileRead) {
          const handle = handles.get(headerData.readBigUInt64LE(0));
          if (!handle) { status(packet, ERR.badHeader); continue; }
          const buffer = Buffer.alloc(Number(headerData.readBigUInt64LE(8)));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
          reply(packet, OP.data, Buffer.alloc(0), buffer.subarray(0, bytesRead));
        } else if (operation === OP.fileWrite) {
          const handle = handles.get(headerData.readBigUInt64LE(0));
          if (!handle) { status(packet, ERR.badHeader); continue; }
          await handle.write(payload);
          status(packet, ERR.success);
        } else if (operation === OP.fileClose) {
          const id = headerData.readBigUInt64LE(0);
          await handles.get(id)?.close();
          handles.delete(id);
          status(packet, ERR.success);
        } else if (operation === OP.renamePath) {
          const [from, next] = cString(headerData);
          const [to] = cString(headerData, next);
          log.push(`rename ${from} -> ${to}`);
          const a = inside(from);
          const b = inside(to);
          if (!a || !b) { status(packet, ERR.permissionDenied); continue; }
          await rename(a, b);
          status(packet, ERR.success);
        } else if (operation === OP.removePath) {
          const [path] = cString(headerData);
          log.push(`remove ${path}`);
          const full = inside(path);
          if (!full) { status(packet, ERR.permissionDenied); continue; }
          await rm(full);
          status(packet, ERR.success);
        } else {
          status(packet, ERR.unknown);
        }
      } catch (error) {
        status(packet, errno(error));
      }
    }
    for (const handle of handles.values()) await handle.close().catch(() => undefined);
  })();
}

export function containerPath(container: string, ...parts: string[]): string {
  return join(container, ...parts);
}
