import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type * as http from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { type FlipperUiFiles } from './flipper-plugin-source.js';
import { type FlipperUiInstall } from './flipper-ui-install.js';

/**
 * The file types the UI is made of. Anything else in static/ (a log file flipper-server itself may
 * have left there, native helpers) is not served.
 */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/**
 * Serves Flipper's browser UI from the installed package's `static/` folder: `index.web.html` at `/`,
 * every other file by its path. A path is served only when it resolves, symlinks followed, to a regular
 * file inside `static/` with a known type; anything else answers "no such file" (false). Files are
 * revalidated on every load (ETag, 304), so a 24 MB bundle.js is sent once and an upgraded package is
 * picked up at once.
 */
export class StaticFlipperUiFiles implements FlipperUiFiles {
  constructor(private readonly install: FlipperUiInstall) {}

  get missing(): string | undefined {
    return this.install.missing;
  }

  get staticDir(): string | undefined {
    return this.install.locate()?.staticDir;
  }

  async serve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const root = this.install.locate()?.staticDir;
    if (root === undefined) return false;
    const file = await staticFile(root, pathname === '/' ? '/index.web.html' : pathname);
    if (!file) return false;
    const etag = `"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
    const headers: http.OutgoingHttpHeaders = {
      'content-type': file.type,
      etag,
      'last-modified': new Date(file.mtimeMs).toUTCString(),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      // The UI can call every connected app: no other site may frame it, and no address leaks from it.
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-resource-policy': 'same-origin',
    };
    if (ifNoneMatch(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-length': file.size });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((done) => {
      const stream = createReadStream(file.path);
      stream.once('error', () => {
        res.destroy();
        done();
      });
      res.once('close', () => {
        stream.destroy();
        done();
      });
      stream.pipe(res);
    });
    return true;
  }
}

interface StaticFile {
  path: string;
  size: number;
  mtimeMs: number;
  type: string;
}

/** The file a request path names inside `root` (already a real path), or undefined when there is none or it lies outside. */
async function staticFile(root: string, pathname: string): Promise<StaticFile | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const type = CONTENT_TYPES[extname(decoded).toLowerCase()];
  if (type === undefined) return undefined;
  const inside = (p: string) => p.startsWith(root + sep);
  const candidate = resolve(join(root, decoded));
  if (!inside(candidate)) return undefined;
  try {
    // A symlink inside static/ that points outside it is refused like a `..` path.
    const real = await realpath(candidate);
    if (!inside(real)) return undefined;
    const info = await stat(real);
    if (!info.isFile()) return undefined;
    return { path: real, size: info.size, mtimeMs: info.mtimeMs, type };
  } catch {
    return undefined;
  }
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === etag || t === `W/${etag}` || t === '*';
  });
}
