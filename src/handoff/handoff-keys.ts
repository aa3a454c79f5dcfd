/**
 * The sign-in hand-off signing key. Asymmetric, so the seller's app needs no shared secret: it
 * verifies with the public key this service publishes at `/.well-known/jwks.json`. ES256 (P-256),
 * EdDSA (Ed25519) or RS256 (RSA, 2048 bits or more), chosen by the key given.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type HandoffAlgorithm = 'ES256' | 'EdDSA' | 'RS256';

export interface HandoffKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly alg: HandoffAlgorithm;
}

/** A key from PEM text (`\n` escapes accepted, for a one-line environment value), or why not. */
export function parseHandoffKey(pem: string): HandoffKey | string {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem.replace(/\\n/g, '\n'), format: 'pem' });
  } catch {
    return 'not a PEM private key (PKCS#8 "BEGIN PRIVATE KEY", or "BEGIN EC PRIVATE KEY" / "BEGIN RSA PRIVATE KEY")';
  }
  const type = privateKey.asymmetricKeyType;
  const details = privateKey.asymmetricKeyDetails ?? {};
  let alg: HandoffAlgorithm;
  if (type === 'ec' && details.namedCurve === 'prime256v1') alg = 'ES256';
  else if (type === 'ed25519') alg = 'EdDSA';
  else if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) alg = 'RS256';
  else
    return `${type === 'ec' ? 'an' : 'a'} ${type ?? 'unknown'} key${details.namedCurve ? ` on ${details.namedCurve}` : ''}${details.modulusLength ? ` of ${details.modulusLength} bits` : ''}; expected EC P-256, Ed25519 or RSA of at least 2048 bits`;
  return { privateKey, publicKey: createPublicKey(privateKey), alg };
}

/** A fresh key for simulator mode when none is configured (it changes at every start). */
export function generateHandoffKey(): HandoffKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicKey, alg: 'ES256' };
}
