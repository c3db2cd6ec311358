import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import simplePlist from 'simple-plist';
import { openssl } from '../openssl.js';

/** The certificates a pairing creates: the host's (presented by the computer) and the device's. */
export interface PairingMaterial {
  hostId: string;
  systemBuid: string;
  rootCertificate: string;
  hostCertificate: string;
  hostPrivateKey: string;
  deviceCertificate: string;
  devicePrivateKey: string;
}

/** Generates a pairing with the real openssl CLI, laid out like the one lockdownd and usbmuxd keep. */
export async function createPairing(dir: string, name = 'pair'): Promise<PairingMaterial> {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=Root', '-keyout', file('root.key'), '-out', file('root.crt')]);
  for (const who of ['host', 'device']) {
    await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', file(`${who}.key`), '-out', file(`${who}.csr`)]);
    await openssl(['x509', '-req', '-in', file(`${who}.csr`), '-CA', file('root.crt'), '-CAkey', file('root.key'), '-CAcreateserial', '-days', '3650', '-out', file(`${who}.crt`)]);
  }
  const read = (suffix: string) => readFile(file(suffix), 'utf8');
  return {
    hostId: `HOST-${name.toUpperCase()}`,
    systemBuid: `BUID-${name.toUpperCase()}`,
    rootCertificate: await read('root.crt'),
    hostCertificate: await read('host.crt'),
    hostPrivateKey: await read('host.key'),
    deviceCertificate: await read('device.crt'),
    devicePrivateKey: await read('device.key'),
  };
}

/** The binary plist usbmuxd returns as PairRecordData (certificates as PEM bytes in <data>). */
export function pairRecordPlist(pairing: PairingMaterial): Buffer {
  return simplePlist.bplistCreator({
    HostID: pairing.hostId,
    SystemBUID: pairing.systemBuid,
    HostCertificate: Buffer.from(pairing.hostCertificate),
    HostPrivateKey: Buffer.from(pairing.hostPrivateKey),
    RootCertificate: Buffer.from(pairing.rootCertificate),
    DeviceCertificate: Buffer.from(pairing.deviceCertificate),
    WiFiMACAddress: '00:11:22:33:44:55',
  });
}

export function certificateDer(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}
