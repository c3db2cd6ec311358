/**
 * A host in a child process, for crash reproductions: as `sonarhost start` it has no handler for
 * uncaught exceptions, so an input that crashes the host ends this process (the test sees the exit).
 * Run with `node --import <dist>/test/setup.js <dist>/test/helpers/fuzz-crash-host.js <dir>`; prints
 * one JSON line (ports and a client certificate for the secure port), then serves until stdin closes.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CertificateStore } from '../../src/core/certificate-store.js';
import { SinkLogger, jsonLineSink } from '../../src/core/logger.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { exportPrivateKeyPem, generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { createHostContainer } from '../../src/host/create-host-container.js';
import { WebSocketTransportService } from '../../src/plugins/websocket-transport/websocket-transport-service.js';
import { testConfig } from './fakes.js';

export interface CrashHostInfo {
  wsPorts: { insecure: number; secure: number; browser: number };
  tls: { key: string; cert: string; ca: string; csr: string };
}

async function serve(dir: string): Promise<void> {
  const config = testConfig({ certDir: join(dir, 'host-certs') });
  config.plugins.transports = ['websocket'];
  config.plugins.deviceTransports = ['desktop'];
  config.webSocket = { insecure: 0, secure: 0, browser: 0 };
  // Production's JSON-lines sink, at debug level (`--log-level debug`), into nothing.
  const logger = new SinkLogger(jsonLineSink(new Writable({ write: (_chunk, _encoding, callback) => callback() })), 'debug');
  const { host, container } = await createHostContainer(config, { logger });
  await host.start();
  const keys = await generateRsaKeyPair();
  const csr = await createCsr('com.example.crash', keys);
  const store = container.get<CertificateStore>(CertificateStore);
  const info: CrashHostInfo = {
    wsPorts: container.get(WebSocketTransportService).boundPorts as CrashHostInfo['wsPorts'],
    tls: { key: await exportPrivateKeyPem(keys.privateKey), cert: (await store.signCsr(csr)).certificatePem, ca: store.caCertificatePem(), csr },
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void host.stop().then(() => process.exit(0)));
}

/** Starts the child host; resolves with its info once it serves. */
export async function startCrashHost(dir: string): Promise<{ child: ChildProcess; info: CrashHostInfo; exited: () => boolean; stop: () => Promise<void> }> {
  const here = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', join(here, '..', '..', 'setup.js'), here, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => (exited = true));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const info = await new Promise<CrashHostInfo>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the crash host did not start within 20 s: ${stderr}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as CrashHostInfo);
      }
    });
    void exit.then(() => reject(new Error(`the crash host exited while starting: ${stderr}`)));
  });
  return {
    child,
    info,
    exited: () => exited,
    stop: async () => {
      if (!exited) {
        child.stdin!.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(killer);
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void serve(process.argv[2]!);
}
