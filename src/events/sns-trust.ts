/**
 * Which SNS signing certificates and SubscribeURLs are trusted (facts §4.2, §4.3). Pure: no I/O.
 *
 * A certificate is only as trustworthy as the host it comes from. A host that merely looks like
 * `sns.<anything>.amazonaws.com` is not enough: `sns.s3-us-west-2.amazonaws.com` and
 * `sns.s3-accelerate.amazonaws.com` are S3 bucket hosts (virtual-hosted style, bucket `sns`) that
 * someone other than AWS may own. So the host must be `sns.<region>.amazonaws.com[.cn]` with
 * `<region>` in the shape of a real region name, and nothing else.
 */
import { X509Certificate } from 'node:crypto';

/**
 * An AWS region name: partition prefix (`us`, `eu`, `ap`, `cn`, `me`, `af`, `il`, `mx`, `sa`, `ca`,
 * with `-gov` / `-iso*` variants), a direction, a number: `us-east-1`, `us-gov-west-1`,
 * `cn-northwest-1`, `eu-central-2`, `ap-southeast-4`. No `s3`, no `accelerate`, no extra label.
 */
const REGION = '[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central)(?:east|west)?-\\d{1,2}';

const REGION_NAME = new RegExp(`^${REGION}$`);

/**
 * An AWS SNS host: `sns.<region>.amazonaws.com`, or `sns.cn-<…>.amazonaws.com.cn` for the China
 * regions (which use that domain only).
 */
export function isAwsSnsHost(host: string): boolean {
  const m = /^sns\.([a-z0-9-]{4,30})\.amazonaws\.com(\.cn)?$/.exec(host);
  if (!m || !REGION_NAME.test(m[1]!)) return false;
  return m[1]!.startsWith('cn-') === (m[2] !== undefined);
}

/** The only SigningCertURL shape accepted from AWS: `https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<32 hex>.pem`. */
export function isAwsSnsCertUrl(url: string): boolean {
  const m = /^https:\/\/([a-z0-9.-]{1,80})\/SimpleNotificationService-[a-fA-F0-9]{32}\.pem$/.exec(url);
  return m !== null && isAwsSnsHost(m[1]!);
}

/** Where a certificate may come from. The simulator origin exists only in simulator mode and tests. */
export type CertificateOrigin = 'aws' | 'simulator';

/**
 * Trust settings: AWS's SNS hosts always; the embedded simulator's exact origin
 * (`http://127.0.0.1:<its port>`) only when given.
 */
export interface SnsTrust {
  /** `http://127.0.0.1:PORT` of the embedded simulator (simulator mode and tests only). */
  readonly simulatorOrigin?: string;
}

/** The origin a SigningCertURL belongs to, or null when it is not trusted (then it is never fetched). */
export function certificateOrigin(url: string, trust: SnsTrust): CertificateOrigin | null {
  if (typeof url !== 'string' || url.length > 300) return null;
  if (isAwsSnsCertUrl(url)) return 'aws';
  const origin = trust.simulatorOrigin;
  if (origin && url.startsWith(`${origin}/`)) {
    return /^\/simulator\/SimpleNotificationService-[a-fA-F0-9]{32}\.pem$/.test(url.slice(origin.length)) ? 'simulator' : null;
  }
  return null;
}

/**
 * May a subscription be confirmed by fetching this SubscribeURL? Only an https URL on an AWS SNS
 * host (default port, no credentials), or a URL under the embedded simulator's exact origin.
 */
export function isAllowedSubscribeUrl(url: string, trust: SnsTrust = {}): boolean {
  if (typeof url !== 'string' || url.length > 2048) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username !== '' || u.password !== '') return false;
  if (trust.simulatorOrigin && u.origin === trust.simulatorOrigin && u.pathname.startsWith('/simulator/')) return true;
  return u.protocol === 'https:' && u.port === '' && isAwsSnsHost(u.hostname);
}

/** A certificate ready for signature checks, or why it is refused. */
export type CertificateCheck = { ok: true; certificate: X509Certificate } | { ok: false; reason: string };

/** Names an SNS signing certificate may carry: `sns.amazonaws.com`, or a regional SNS name. */
const SNS_CERT_NAME = new RegExp(`^sns(?:\\.${REGION})?\\.amazonaws\\.com(?:\\.cn)?$`);

/**
 * Checks a fetched signing certificate (facts §4.3: "validate the authenticity of the certificate").
 * - The PEM's first certificate is the signing certificate; it must be within its validity dates
 *   and name SNS (`sns.amazonaws.com` or `sns.<region>.amazonaws.com`) in its subject or DNS names.
 * - From AWS it must not be self-signed nor a CA certificate.
 * - Certificates after the first (an issuer chain, if the PEM carries one) must each have issued
 *   the one before and be within their dates. AWS serves the signing certificate alone; the trust
 *   in it comes from fetching it over TLS from an AWS SNS host (see SECURITY.md), so no check
 *   here depends on a certificate authority AWS might change.
 */
export function checkSigningCertificate(pem: string, origin: CertificateOrigin, now: Date): CertificateCheck {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks || blocks.length === 0) return { ok: false, reason: 'not a PEM certificate' };
  if (blocks.length > 4) return { ok: false, reason: `${blocks.length} certificates in one PEM` };
  let chain: X509Certificate[];
  try {
    chain = blocks.map((b) => new X509Certificate(b));
  } catch (error) {
    return { ok: false, reason: `not an X.509 certificate: ${error instanceof Error ? error.message : 'parse error'}` };
  }
  const leaf = chain[0]!;
  for (const cert of chain) {
    if (now.getTime() < Date.parse(cert.validFrom) || now.getTime() > Date.parse(cert.validTo)) {
      return { ok: false, reason: `certificate ${cert === leaf ? '' : 'in the chain '}is outside its validity period` };
    }
  }
  if (!certificateNames(leaf).some((n) => SNS_CERT_NAME.test(n))) {
    return { ok: false, reason: `certificate does not name SNS (subject ${leaf.subject.replace(/\n/g, ', ').slice(0, 120)})` };
  }
  if (origin === 'aws') {
    if (leaf.ca) return { ok: false, reason: 'signing certificate is a CA certificate' };
    if (leaf.checkIssued(leaf) && leaf.verify(leaf.publicKey)) return { ok: false, reason: 'signing certificate is self-signed' };
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) return { ok: false, reason: 'certificate chain does not link up' };
  }
  return { ok: true, certificate: leaf };
}

/** The subject CN and the DNS subject alternative names, lower-cased. */
function certificateNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) names.push(line.slice(3).toLowerCase());
  for (const entry of (cert.subjectAltName ?? '').split(',')) {
    const e = entry.trim();
    if (e.startsWith('DNS:')) names.push(e.slice(4).toLowerCase());
  }
  return names;
}
