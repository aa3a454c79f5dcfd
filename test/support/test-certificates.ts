import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Certificates made with openssl for SNS trust tests (node:crypto cannot make X.509). */
export interface TestCertificates {
  /** Private key of `leaf` (PEM). */
  readonly leafKey: string;
  /** CN=sns.amazonaws.com, issued by `ca`: the shape of AWS's signing certificate. */
  readonly leaf: string;
  /** CN=Test Root CA, self-signed, a CA. */
  readonly ca: string;
  /** `leaf` followed by `ca`: a PEM that carries its chain. */
  readonly leafWithChain: string;
  /** CN=sns.amazonaws.com, self-signed, same key as `leaf`. */
  readonly selfSigned: string;
  /** CN=files.example.com, issued by `ca`, same key as `leaf`: does not name SNS. */
  readonly notSns: string;
  /** `leaf` followed by an unrelated CA: a chain that does not link up. */
  readonly brokenChain: string;
  /** Another key's leaf, CN=sns.amazonaws.com issued by `ca`. */
  readonly otherLeaf: string;
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'sns-certs-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  try {
    writeFileSync(f('leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:sns.amazonaws.com\n');
    writeFileSync(f('plain.ext'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:files.example.com\n');
    const ca = (name: string, cn: string) =>
      openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        f(`${name}.key`),
        '-out',
        f(`${name}.pem`),
      );
    ca('ca', 'Test Root CA');
    ca('other-ca', 'Other Root CA');
    const issue = (name: string, key: string, cn: string, ext: string) => {
      openssl('req', '-new', '-key', f(key), '-subj', `/CN=${cn}`, '-out', f(`${name}.csr`));
      openssl(
        'x509',
        '-req',
        '-in',
        f(`${name}.csr`),
        '-CA',
        f('ca.pem'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '365',
        '-extfile',
        f(ext),
        '-out',
        f(`${name}.pem`),
      );
    };
    openssl('genrsa', '-out', f('leaf.key'), '2048');
    openssl('genrsa', '-out', f('other.key'), '2048');
    issue('leaf', 'leaf.key', 'sns.amazonaws.com', 'leaf.ext');
    issue('not-sns', 'leaf.key', 'files.example.com', 'plain.ext');
    issue('other-leaf', 'other.key', 'sns.amazonaws.com', 'leaf.ext');
    openssl(
      'req',
      '-x509',
      '-key',
      f('leaf.key'),
      '-days',
      '365',
      '-subj',
      '/CN=sns.amazonaws.com',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-out',
      f('self.pem'),
    );
    const read = (name: string) => readFileSync(f(name), 'utf8');
    return {
      leafKey: read('leaf.key'),
      leaf: read('leaf.pem'),
      ca: read('ca.pem'),
      leafWithChain: read('leaf.pem') + read('ca.pem'),
      selfSigned: read('self.pem'),
      notSns: read('not-sns.pem'),
      brokenChain: read('leaf.pem') + read('other-ca.pem'),
      otherLeaf: read('other-leaf.pem'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
