import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

describe('sonarhost certs', () => {
  let dir: string;
  let certDir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    certDir = join(dir, 'certs');
  });
  afterEach(() => cleanup());

  it('creates and then shows the folder, subjects, fingerprints and expiry dates', async () => {
    const first = await runCli(['certs', '--cert-dir', certDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Certificate folder: ${certDir}`));
    assert.match(first.stdout, /CA:\n {2}subject: {5}C=US, ST=CA, L=Menlo Park, O=Sonar, CN=SonarCA/);
    assert.match(first.stdout, /Server:\n {2}subject: {5}C=US, ST=CA, L=Menlo Park, O=Sonar, CN=localhost/);
    assert.match(first.stdout, /SHA-256: {5}([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(first.stdout, /valid until: \S+ \(expires in 29 days\)/);
    assert.match(first.stdout, /Changed now:\n {2}- created a new certificate authority/);

    const second = await runCli(['certs', '--cert-dir', certDir, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(second.stdout) as { renewals: string[]; ca: { sha256Fingerprint: string } };
    assert.deepEqual(report.renewals, []);
    assert.ok(first.stdout.includes(report.ca.sha256Fingerprint));
  });

  it('renews the server certificate on request, keeping the CA', async () => {
    await runCli(['certs', '--cert-dir', certDir]);
    const ca = await readFile(join(certDir, 'ca.crt'), 'utf8');
    const server = await readFile(join(certDir, 'server.crt'), 'utf8');
    const result = await runCli(['certs', '--cert-dir', certDir, '--renew-server']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(certDir, 'ca.crt'), 'utf8'), ca);
    assert.notEqual(await readFile(join(certDir, 'server.crt'), 'utf8'), server);
  });

  it('rotates the CA only with --yes, archiving the old one', async () => {
    await runCli(['certs', '--cert-dir', certDir]);
    const ca = await readFile(join(certDir, 'ca.crt'), 'utf8');

    const refused = await runCli(['certs', '--cert-dir', certDir, '--rotate-ca']);
    assert.equal(refused.code, 2, 'without a terminal, a missing --yes is a usage error');
    assert.match(refused.stderr, /--rotate-ca needs --yes when there is no terminal to confirm on; nothing was changed/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, `one refusal, not two: ${refused.stderr}`);
    assert.equal(await readFile(join(certDir, 'ca.crt'), 'utf8'), ca);

    const rotated = await runCli(['certs', '--cert-dir', certDir, '--rotate-ca', '--yes']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(await readFile(join(certDir, 'ca.crt'), 'utf8'), ca);
    const [archived] = await readdir(join(certDir, 'archive'));
    assert.equal(await readFile(join(certDir, 'archive', archived!, 'ca.crt'), 'utf8'), ca);
  });

  it('stops with the rotation advice when ca.key is corrupt, and --rotate-ca --yes recovers', async () => {
    await runCli(['certs', '--cert-dir', certDir]);
    await writeFile(join(certDir, 'ca.key'), 'not a key');
    const failed = await runCli(['certs', '--cert-dir', certDir]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /sonarhost: The certificate authority in .* is damaged: ca\.key is not a readable RSA private key/);
    assert.equal(await readFile(join(certDir, 'ca.key'), 'utf8'), 'not a key');

    const started = await runCli(['start', '--config', await writeIsolatedConfig(dir, { insecure: 40001, secure: 40002 }), '--cert-dir', certDir]);
    assert.equal(started.code, 1, 'the host refuses to start on a damaged CA');
    assert.match(started.stderr, /--rotate-ca --yes/);

    const recovered = await runCli(['certs', '--cert-dir', certDir, '--rotate-ca', '--yes']);
    assert.equal(recovered.code, 0, recovered.stderr);
    const [archived] = await readdir(join(certDir, 'archive'));
    assert.equal(await readFile(join(certDir, 'archive', archived!, 'ca.key'), 'utf8'), 'not a key');
  });

  it('prints help and the version, and refuses unknown options with exit code 2', async () => {
    const help = await runCli(['certs', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: sonarhost certs/);
    assert.match(help.stdout, /--rotate-ca/);
    const version = await runCli(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const unknown = await runCli(['certs', '--frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--frobnicate'\. Run "sonarhost certs --help" for its options/);
  });
});

describe('sonarhost --help', () => {
  for (const command of ['start', 'certs', 'devices', 'doctor', 'config']) {
    it(`${command} --help explains the command and its options, exit 0`, async () => {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: sonarhost ${command === 'start' ? '\\[start\\]' : command}`));
      assert.match(result.stdout, /--config FILE/);
      assert.match(result.stdout, /--ports I,S/);
    });
  }

  it('lists every command at the top level', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['start', 'certs', 'devices', 'doctor', 'config']) assert.match(result.stdout, new RegExp(`\\n  ${command} +\\S`));
    // The summaries start in one column, and the global options are not listed as commands.
    const [commands, options] = result.stdout.split('\nOptions:\n');
    const columns = new Set(commands!.split('\n').filter((l) => /^  \S/.test(l)).map((l) => /^  \S+ +/.exec(l)![0].length));
    assert.equal(columns.size, 1, `one summary column: ${[...columns].join(', ')}`);
    assert.doesNotMatch(commands!, /--version/);
    assert.match(options ?? '', /--version/);
  });
});
