import { type FSWatcher, watch } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import {
  type CertificateReport,
  type CertificateStore,
  type IssuedClientCertificate,
  type ServerCredentials,
} from '../../core/certificate-store.js';
import { Clock } from '../../core/clock.js';
import { type HealthCheck } from '../../core/health-check.js';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { Logger } from '../../core/logger.js';
import { parseCsrCached } from '../../core/x509/csr.js';
import { type CertificateFacts, isForKey, isSignedBy, readCertificateFacts } from '../../core/x509/certificate-facts.js';
import { exportPrivateKeyPem, generateRsaKeyPair, importRsaPrivateKeyPem } from '../../core/x509/webcrypto.js';
import {
  type CertificateAuthorityKeys,
  VALIDITY,
  createCaCertificate,
  issueServerCertificate,
  summarize,
} from './certificate-issuer.js';
import { checkCertificateFolder } from './certificate-folder-check.js';
import { ClientCertificateSigner } from './client-certificate.js';
import { FolderLock } from './folder-lock.js';
import { type FilePair, exists, recoverPair, writePair } from './paired-files.js';
import { SerialNumbers, serialHex } from './serial-numbers.js';
import { unwritable } from './write-error.js';

/** The server certificate, and the key and certificate files' text as served. */
interface ServerPair {
  certificate: CertificateFacts;
  keyPem: string;
  certPem: string;
}

interface Loaded {
  ca: CertificateAuthorityKeys;
  caPem: string;
  server: CertificateFacts;
  credentials: ServerCredentials;
  signer: ClientCertificateSigner;
}

/** The files whose change on disk means other credentials; everything else in the folder is ignored. */
const CREDENTIAL_FILES = new Set(['ca.key', 'ca.crt', 'server.key', 'server.crt']);
/** A rotation renames four files within milliseconds: reload once, after the last of them. */
const WATCH_DEBOUNCE_MS = 300;

/**
 * The built-in CertificateStore: a folder with upstream Flipper's file names (`ca.key`, `ca.crt`,
 * `server.key`, `server.crt`; an existing `server.srl` is read, see SerialNumbers), so an existing
 * Flipper certificate folder can be reused. All X.509 work happens in-process. Every change to the
 * folder happens under its lock (FolderLock), also across processes.
 */
@injectable()
export class FileCertificateStore implements CertificateStore {
  private readonly dir: string;
  private readonly caFiles: FilePair;
  private readonly serverFiles: FilePair;
  private readonly serials: SerialNumbers;
  private readonly lock: FolderLock;
  private readonly log: Logger;
  private loaded: Loaded | undefined;
  private preparing: Promise<CertificateReport> | undefined;
  /** The next server certificate's key pair, when createCa started it. */
  private serverKeysAhead: Promise<CryptoKeyPair> | undefined;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Clock) private readonly clock: Clock,
    @inject(Logger) logger: Logger,
  ) {
    this.dir = config.certDir;
    this.caFiles = { keyPath: join(this.dir, 'ca.key'), certPath: join(this.dir, 'ca.crt') };
    this.serverFiles = { keyPath: join(this.dir, 'server.key'), certPath: join(this.dir, 'server.crt') };
    this.serials = new SerialNumbers(join(this.dir, 'server.srl'));
    this.log = logger.child('certificates', { certDir: this.dir });
    this.lock = new FolderLock(join(this.dir, 'sonarhost.lock'), this.log);
  }

  prepare(): Promise<CertificateReport> {
    this.preparing ??= this.locked(() => this.load()).catch((error: unknown) => {
      this.preparing = undefined; // a later call may retry once the user has fixed the folder
      throw error;
    });
    return this.preparing;
  }

  async refresh(): Promise<CertificateReport> {
    await this.prepare();
    const report = await this.locked(() => this.load());
    this.preparing = Promise.resolve(report);
    return report;
  }

  watch(onChange: () => void): Disposable {
    let watcher: FSWatcher;
    try {
      watcher = watch(this.dir, { persistent: false });
    } catch (error) {
      this.log.warn('cannot watch the certificate folder: changes by other processes are picked up at the hourly check', { error: describeError(error) });
      return toDisposable(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    watcher.on('change', (_event, name) => {
      if (name !== null && !CREDENTIAL_FILES.has(String(name))) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, WATCH_DEBOUNCE_MS);
    });
    watcher.on('error', (error) => this.log.warn('stopped watching the certificate folder', { error: describeError(error) }));
    return toDisposable(() => {
      clearTimeout(timer);
      watcher.close();
    });
  }

  serverCredentials(): ServerCredentials {
    return this.require().credentials;
  }

  caCertificatePem(): string {
    return this.require().caPem;
  }

  async describe(): Promise<CertificateReport> {
    return this.prepare();
  }

  check(): Promise<HealthCheck[]> {
    return checkCertificateFolder(this.dir, this.clock.now());
  }

  /** Nothing is written here: the serial is random and a lost certificate is one the app asks for again. */
  async signCsr(csrPem: string): Promise<IssuedClientCertificate> {
    const { signer } = this.require();
    const csr = await parseCsrCached(csrPem, this.config.limits.maxCsrBytes);
    const serial = this.serials.next();
    const certificate = await signer.issue(csr, serial, this.clock.now());
    return { appId: csr.appId, certificatePem: certificate.pem, serialNumber: serialHex(serial), notBefore: certificate.notBefore, notAfter: certificate.notAfter };
  }

  async renewServerCertificate(reason: string): Promise<void> {
    await this.locked(async () => {
      const { ca, caPem } = this.require();
      const renewals: string[] = [];
      const server = await this.issueServer(ca, reason, renewals);
      this.use(ca, caPem, server);
      this.preparing = Promise.resolve(this.report(renewals));
    });
  }

  async rotateCertificateAuthority(reason: string): Promise<void> {
    await this.locked(async () => {
      const archived = await this.archive(['ca.key', 'ca.crt', 'server.key', 'server.crt']);
      this.log.warn('rotating the certificate authority: every device must redo the certificate exchange', { reason, archivedTo: archived });
      this.loaded = undefined;
      this.preparing = undefined;
      const renewals: string[] = [];
      const ca = await this.createCa(`rotation requested: ${reason}`, renewals);
      const server = await this.issueServer(ca.ca, 'the certificate authority was rotated', renewals);
      this.use(ca.ca, ca.pem, server);
      this.preparing = Promise.resolve(this.report(renewals));
    });
  }

  /** Runs a change of the folder under its lock (the lock file lives in the folder, so it must exist first). */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    await this.ensureFolder();
    return this.lock.run(work);
  }

  private use(ca: CertificateAuthorityKeys, caPem: string, server: ServerPair): void {
    this.loaded = { ca, caPem, server: server.certificate, credentials: { key: server.keyPem, cert: server.certPem, ca: caPem }, signer: new ClientCertificateSigner(ca) };
  }

  private require(): Loaded {
    if (!this.loaded) throw new HostError('internal', 'The certificate store was used before prepare() finished.');
    return this.loaded;
  }

  private async load(): Promise<CertificateReport> {
    await this.serials.load();
    const renewals: string[] = [];
    for (const pair of [this.caFiles, this.serverFiles]) {
      const repaired = await recoverPair(pair);
      if (repaired) {
        renewals.push(`${pair.certPath}: ${repaired}`);
        this.log.warn(repaired, { file: pair.certPath });
      }
    }

    const before = this.loaded;
    const ca = await this.loadOrCreateCa(renewals);
    const server = await this.loadOrIssueServer(ca.ca, renewals);
    if (before && renewals.length === 0) {
      // Nothing was renewed here, yet the files may differ from what is in use: another process wrote them.
      if (before.caPem !== ca.pem) renewals.push('loaded the CA certificate that another process wrote (ca.crt changed on disk)');
      if (before.credentials.cert !== server.certPem) renewals.push('loaded the server certificate that another process wrote (server.crt changed on disk)');
      if (renewals.length > 0) this.log.info('the certificate folder was changed by another process', { renewals });
    }
    this.use(ca.ca, ca.pem, server);
    return this.report(renewals);
  }

  private report(renewals: string[]): CertificateReport {
    const { ca, server } = this.require();
    return { location: this.dir, ca: summarize(ca.certificate), server: summarize(server), renewals };
  }

  private async ensureFolder(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const info = await stat(this.dir);
      if ((info.mode & 0o077) !== 0) {
        await chmod(this.dir, 0o700); // it holds private keys: nobody else may list or read it
        this.log.info('restricted the certificate folder to its owner (mode 0700)');
      }
    } catch (error) {
      throw new HostError(
        'cert-dir-unwritable',
        `Cannot use the certificate folder ${this.dir}: ${describeError(error)}. Make it writable by this user or choose another with --cert-dir.`,
        { cause: error },
      );
    }
  }

  // ---- certificate authority ------------------------------------------------------------------

  private async loadOrCreateCa(renewals: string[]): Promise<{ ca: CertificateAuthorityKeys; pem: string }> {
    if (!(await exists(this.caFiles.keyPath))) {
      // A certificate without its key is a damaged CA, not a first start: a new one would silently cut off every device.
      if (await exists(this.caFiles.certPath)) throw this.caUnreadable('ca.key is missing beside ca.crt');
      return this.createCa('this folder holds no certificate authority yet', renewals);
    }

    const keys = await this.readCaKey();
    if (!(await exists(this.caFiles.certPath))) {
      return this.reissueCa(keys, 'ca.crt is missing (its key is kept, so issued device certificates stay valid)', renewals);
    }
    const certificate = await this.readCaCertificate();
    if (!isForKey(certificate, keys.publicKey)) {
      throw this.caUnreadable('ca.crt does not belong to ca.key (their public keys differ)');
    }
    const now = this.clock.now();
    if (certificate.notAfter.getTime() - now.getTime() < VALIDITY.renewWithinMs) {
      const state = certificate.notAfter <= now ? 'expired' : 'expires within 24 hours';
      return this.reissueCa(keys, `the CA certificate ${state} (${certificate.notAfter.toISOString()}); renewed with its existing key`, renewals);
    }
    if (now.getTime() - certificate.notBefore.getTime() > VALIDITY.caReissueAfterMs) {
      return this.reissueCa(keys, 'it was issued more than 25 days ago, and WebSocket-era Android SDKs refuse a CA certificate older than 30 days; renewed with its existing key', renewals);
    }
    return { ca: { certificate, keys }, pem: certificate.pem };
  }

  private async readCaKey(): Promise<CryptoKeyPair> {
    let pem: string;
    try {
      pem = await readFile(this.caFiles.keyPath, 'utf8');
    } catch (error) {
      throw this.caUnreadable(`ca.key cannot be read (${describeError(error)})`, error);
    }
    try {
      return await importRsaPrivateKeyPem(pem);
    } catch (error) {
      throw this.caUnreadable('ca.key is not a readable RSA private key (PKCS#1 or PKCS#8 PEM)', error);
    }
  }

  private async readCaCertificate(): Promise<CertificateFacts> {
    try {
      return readCertificateFacts(await readFile(this.caFiles.certPath, 'utf8'));
    } catch (error) {
      throw this.caUnreadable('ca.crt is not a readable PEM certificate', error);
    }
  }

  private caUnreadable(problem: string, cause?: unknown): HostError {
    return new HostError(
      'ca-unreadable',
      `The certificate authority in ${this.dir} is damaged: ${problem}. sonarhost never replaces a CA silently, ` +
        'because every device would have to redo the certificate exchange. Restore the file from a backup, or ' +
        'start over deliberately with `sonarhost certs --rotate-ca --yes` (the old files are archived, not deleted).',
      { cause },
    );
  }

  private async createCa(reason: string, renewals: string[]): Promise<{ ca: CertificateAuthorityKeys; pem: string }> {
    // A new CA is always followed by a new server certificate: its key pair is generated beside the CA's
    // (each is 60–450 ms on a thread-pool thread).
    this.serverKeysAhead = generateRsaKeyPair();
    this.serverKeysAhead.catch(() => undefined); // awaited by issueServer; a failure surfaces there
    const keys = await generateRsaKeyPair();
    const result = await this.writeCa(keys, await exportPrivateKeyPem(keys.privateKey));
    this.noteRenewal(`created a new certificate authority: ${reason}`, renewals);
    return result;
  }

  private async reissueCa(keys: CryptoKeyPair, reason: string, renewals: string[]): Promise<{ ca: CertificateAuthorityKeys; pem: string }> {
    const keyPem = await readFile(this.caFiles.keyPath, 'utf8'); // keep the key file byte for byte
    const result = await this.writeCa(keys, keyPem);
    this.noteRenewal(`re-issued the CA certificate: ${reason}`, renewals);
    return result;
  }

  private async writeCa(keys: CryptoKeyPair, keyPem: string): Promise<{ ca: CertificateAuthorityKeys; pem: string }> {
    const certificate = await createCaCertificate(keys, this.serials.next(), this.clock.now());
    const pem = certificate.pem;
    await this.write(this.caFiles, keyPem, pem);
    return { ca: { certificate, keys }, pem };
  }

  // ---- server certificate ---------------------------------------------------------------------

  private async loadOrIssueServer(ca: CertificateAuthorityKeys, renewals: string[]): Promise<ServerPair> {
    const existing = await this.reusableServer(ca);
    return 'problem' in existing ? this.issueServer(ca, existing.problem, renewals) : existing;
  }

  /** The server certificate and key on disk when they can be reused, else why they must be renewed. */
  private async reusableServer(ca: CertificateAuthorityKeys): Promise<ServerPair | { problem: string }> {
    if (!(await exists(this.serverFiles.keyPath))) return { problem: 'server.key is missing' };
    if (!(await exists(this.serverFiles.certPath))) return { problem: 'server.crt is missing' };
    let pair: ServerPair;
    let keys: CryptoKeyPair;
    try {
      const certPem = await readFile(this.serverFiles.certPath, 'utf8');
      const keyPem = await readFile(this.serverFiles.keyPath, 'utf8');
      pair = { certificate: readCertificateFacts(certPem), keyPem, certPem };
      keys = await importRsaPrivateKeyPem(keyPem);
    } catch (error) {
      return { problem: `server.key or server.crt is unreadable (${describeError(error)})` };
    }
    const { certificate } = pair;
    if (!isForKey(certificate, keys.publicKey)) return { problem: 'server.crt does not belong to server.key' };
    if (!isSignedBy(certificate, ca.certificate, ca.keys.publicKey)) return { problem: 'server.crt is not signed by the current CA' };
    const remaining = certificate.notAfter.getTime() - this.clock.now().getTime();
    if (remaining <= 0) return { problem: `server.crt expired on ${certificate.notAfter.toISOString()}` };
    if (remaining < VALIDITY.renewWithinMs) return { problem: `server.crt expires within 24 hours (${certificate.notAfter.toISOString()})` };
    return pair;
  }

  private async issueServer(ca: CertificateAuthorityKeys, reason: string, renewals: string[]): Promise<ServerPair> {
    const ahead = this.serverKeysAhead;
    this.serverKeysAhead = undefined;
    const keys = await (ahead ?? generateRsaKeyPair());
    const certificate = await issueServerCertificate(ca, keys.publicKey, this.serials.next(), this.clock.now());
    const keyPem = await exportPrivateKeyPem(keys.privateKey);
    const certPem = certificate.pem;
    await this.write(this.serverFiles, keyPem, certPem);
    this.noteRenewal(`issued a new server certificate: ${reason}`, renewals);
    return { certificate, keyPem, certPem };
  }

  /** Writes a key and certificate pair; a full or read-only disk becomes an error that says what to do. */
  private async write(pair: FilePair, keyPem: string, certPem: string): Promise<void> {
    await writePair(pair, keyPem, certPem).catch((error: unknown) => {
      throw unwritable(pair.certPath, error);
    });
  }

  private noteRenewal(message: string, renewals: string[]): void {
    renewals.push(message);
    this.log.info(message);
  }

  /** Copies the named files into `archive/<timestamp>/` before they are replaced. Returns that folder. */
  private async archive(names: string[]): Promise<string> {
    const folder = join(this.dir, 'archive', this.clock.now().toISOString().replace(/[:.]/g, '-'));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    for (const name of names) {
      const source = join(this.dir, name);
      if (await exists(source)) await copyFile(source, join(folder, name));
    }
    return folder;
  }
}
