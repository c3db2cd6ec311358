import { type HealthCheck } from './health-check.js';

/**
 * The certificate authority of the host: keeps the CA and the TLS server certificate, signs the
 * client certificates that apps present on the secure port. Swappable (a keychain- or HSM-backed
 * store could replace the built-in file store).
 */
export const CertificateStore = Symbol.for('sonarhost.CertificateStore');

export interface CertificateStore {
  /** Loads, creates or renews the CA and server certificate. Runs once at start-up, before any server. */
  prepare(): Promise<CertificateReport>;
  /** Key, certificate and CA for TLS listeners. Only valid after prepare(). */
  serverCredentials(): ServerCredentials;
  /** The CA certificate, PEM, as written to `sonarCA.crt` on devices. */
  caCertificatePem(): string;
  /** Verifies a CSR and issues a client certificate for the app named in its CN. */
  signCsr(csrPem: string): Promise<IssuedClientCertificate>;
  /** What is on disk now, for `sonarhost certs`, doctor and the API. */
  describe(): Promise<CertificateReport>;
  /** Issues a new server certificate (new key) from the current CA. */
  renewServerCertificate(reason: string): Promise<void>;
  /** Deliberately replaces the CA (new key): every device must redo the certificate exchange. */
  rotateCertificateAuthority(reason: string): Promise<void>;
  /**
   * Applies the renewal rules again while the host runs (the server certificate nears its end, the CA
   * certificate gets old). `renewals` is empty when nothing changed.
   */
  refresh?(): Promise<CertificateReport>;
  /** Read-only health checks for `sonarhost doctor`: nothing is created or renewed. */
  check?(): Promise<HealthCheck[]>;
}

export interface ServerCredentials {
  key: string;
  cert: string;
  ca: string;
}

export interface IssuedClientCertificate {
  appId: string;
  /** PEM of the client certificate (`device.crt`). */
  certificatePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  sha256Fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateReport {
  location: string;
  ca: CertificateSummary;
  server: CertificateSummary;
  /** What prepare() changed, each with its reason (empty when everything was reused). */
  renewals: string[];
}
