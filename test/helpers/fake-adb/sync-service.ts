// The `sync:` service (file transfer), as the adb shell user: requests are a 4-byte id and a 32-bit
// little-endian length, then that many bytes. Supported: STAT, STA2/LST2 (stat_v2), LIST, LIS2
// (ls_v2), SEND (push: DATA chunks then DONE <mtime>, answered OKAY + 0), RECV (pull: DATA… DONE),
// QUIT. Paths follow the shell user's permissions: pushes work into /data/local/tmp and /sdcard only,
// as on a phone; a refused push answers FAIL with adbd's wording once the client sent DONE.

import * as path from 'node:path';
import { type AdbChannel } from './adb-channel.js';
import { ChannelReader } from './channel-reader.js';
import { type ServiceRunner } from './device-connection.js';
import { type DeviceStat, FsError, type SandboxFs } from './sandbox-fs.js';
import { SHELL_USER, UserFs } from './user-fs.js';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const MAX_CHUNK = 64 * 1024;
const ERRNO: Record<string, number> = { ENOENT: 2, EACCES: 13, ENOTDIR: 20, EISDIR: 21 };

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}

function header(id: string, length: number): Buffer {
  return Buffer.concat([Buffer.from(id, 'latin1'), u32(length)]);
}

function fullMode(st: DeviceStat): number {
  return (st.type === 'dir' ? S_IFDIR : S_IFREG) | st.mode;
}

/** The 68-byte stat_v2 body: error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime. */
function statV2(st: DeviceStat | undefined, errno: number): Buffer {
  const out = Buffer.alloc(68);
  out.writeUInt32LE(errno, 0);
  if (st !== undefined) {
    const seconds = BigInt(Math.floor(st.mtimeMs / 1000));
    out.writeBigUInt64LE(1n, 4);
    out.writeBigUInt64LE(1n, 12);
    out.writeUInt32LE(fullMode(st), 20);
    out.writeUInt32LE(1, 24);
    out.writeUInt32LE(2000, 28);
    out.writeUInt32LE(2000, 32);
    out.writeBigUInt64LE(BigInt(st.size), 36);
    out.writeBigInt64LE(seconds, 44);
    out.writeBigInt64LE(seconds, 52);
    out.writeBigInt64LE(seconds, 60);
  }
  return out;
}

export function syncService(fs: SandboxFs): ServiceRunner {
  const files = new UserFs(fs, SHELL_USER);
  return async (channel: AdbChannel) => {
    const reader = new ChannelReader(channel);
    for (;;) {
      const request = await reader.read(8);
      if (request === undefined) return;
      const id = request.subarray(0, 4).toString('latin1');
      const length = request.readUInt32LE(4);
      if (id === 'QUIT') return;
      const argument = await reader.read(length);
      if (argument === undefined) return;
      const target = argument.toString('utf8');
      const keepGoing = await handle(id, target, files, reader, channel);
      if (!keepGoing) return;
    }
  };
}

async function stat(files: UserFs, target: string): Promise<{ st?: DeviceStat; errno: number }> {
  try {
    const st = await files.stat(target, '/');
    return st === undefined ? { errno: ERRNO.ENOENT! } : { st, errno: 0 };
  } catch (error) {
    if (error instanceof FsError) return { errno: ERRNO[error.code] ?? 5 };
    throw error;
  }
}

async function fail(channel: AdbChannel, message: string): Promise<false> {
  const body = Buffer.from(message, 'utf8');
  await channel.write(Buffer.concat([header('FAIL', body.length), body]));
  return false;
}

/** Handles one request; false ends the service (after a FAIL, as adbd does). */
async function handle(id: string, target: string, files: UserFs, reader: ChannelReader, channel: AdbChannel): Promise<boolean> {
  switch (id) {
    case 'STAT': {
      const { st } = await stat(files, target);
      const body = Buffer.alloc(12);
      if (st !== undefined) {
        body.writeUInt32LE(fullMode(st), 0);
        body.writeUInt32LE(Math.min(st.size, 0xffffffff), 4);
        body.writeUInt32LE(Math.floor(st.mtimeMs / 1000), 8);
      }
      await channel.write(Buffer.concat([Buffer.from('STAT'), body]));
      return true;
    }
    case 'STA2':
    case 'LST2': {
      const { st, errno } = await stat(files, target);
      await channel.write(Buffer.concat([Buffer.from(id), statV2(st, errno)]));
      return true;
    }
    case 'LIST':
    case 'LIS2': {
      const v2 = id === 'LIS2';
      let names: string[] = [];
      try {
        names = ['.', '..', ...(await files.readdir(target, '/'))];
      } catch (error) {
        if (!(error instanceof FsError)) throw error;
      }
      const parts: Buffer[] = [];
      for (const name of names) {
        const { st } = await stat(files, path.posix.join(target, name));
        if (st === undefined) continue;
        const nameBytes = Buffer.from(name, 'utf8');
        if (v2) {
          parts.push(Buffer.from('DNT2'), statV2(st, 0), u32(nameBytes.length), nameBytes);
        } else {
          const body = Buffer.alloc(16);
          body.writeUInt32LE(fullMode(st), 0);
          body.writeUInt32LE(Math.min(st.size, 0xffffffff), 4);
          body.writeUInt32LE(Math.floor(st.mtimeMs / 1000), 8);
          body.writeUInt32LE(nameBytes.length, 12);
          parts.push(Buffer.from('DENT'), body, nameBytes);
        }
      }
      parts.push(Buffer.from('DONE'), Buffer.alloc(v2 ? 72 : 16));
      await channel.write(Buffer.concat(parts));
      return true;
    }
    case 'SEND':
      return receiveFile(target, files, reader, channel);
    case 'RECV': {
      let data: Buffer;
      try {
        data = await files.readFile(target, '/');
      } catch (error) {
        if (!(error instanceof FsError)) throw error;
        return fail(channel, `open failed: ${error.message}`);
      }
      const parts: Buffer[] = [];
      for (let offset = 0; offset < data.length; offset += MAX_CHUNK) {
        const chunk = data.subarray(offset, offset + MAX_CHUNK);
        parts.push(header('DATA', chunk.length), chunk);
      }
      parts.push(header('DONE', 0));
      await channel.write(Buffer.concat(parts));
      return true;
    }
    default:
      return fail(channel, `unknown sync request ${JSON.stringify(id)}`);
  }
}

/** SEND "<path>,<mode>": DATA chunks until DONE; the file is written (or refused) at DONE. */
async function receiveFile(spec: string, files: UserFs, reader: ChannelReader, channel: AdbChannel): Promise<boolean> {
  const comma = spec.lastIndexOf(',');
  const target = comma >= 0 ? spec.slice(0, comma) : spec;
  const mode = comma >= 0 ? Number(spec.slice(comma + 1)) & 0o7777 : 0o644;
  const chunks: Buffer[] = [];
  for (;;) {
    const head = await reader.read(8);
    if (head === undefined) return false;
    const id = head.subarray(0, 4).toString('latin1');
    const value = head.readUInt32LE(4);
    if (id === 'DONE') break;
    if (id !== 'DATA') return fail(channel, `invalid data message: expected DATA or DONE, got ${JSON.stringify(id)}`);
    const data = await reader.read(value);
    if (data === undefined) return false;
    chunks.push(data);
  }
  // As adbd: open first; only a missing folder makes it create the parents (fixed_push_mkdir).
  const write = (): Promise<void> => files.writeFile(target, '/', Buffer.concat(chunks), { mode });
  try {
    try {
      await write();
    } catch (error) {
      if (!(error instanceof FsError) || error.code !== 'ENOENT') throw error;
      try {
        const parent = path.posix.dirname(files.canonical(target, '/'));
        let current = '';
        for (const component of parent.split('/').filter(Boolean)) {
          current += `/${component}`;
          if ((await files.stat(current, '/')) === undefined) await files.mkdir(current, '/');
        }
      } catch (mkdirError) {
        if (!(mkdirError instanceof FsError)) throw mkdirError;
        return fail(channel, `secure_mkdirs failed: ${mkdirError.message}`);
      }
      await write();
    }
  } catch (error) {
    if (!(error instanceof FsError)) throw error;
    return fail(channel, `couldn't create file: ${error.message}`);
  }
  await channel.write(Buffer.concat([Buffer.from('OKAY'), u32(0)]));
  return true;
}
