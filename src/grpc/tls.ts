// Server credentials from AGENTSTORE_TLS_CERT / AGENTSTORE_TLS_KEY (PEM),
// and AGENTSTORE_TLS_CLIENT_CA to require client certificates signed by that
// CA (mTLS); plaintext without them. The files are read and checked at boot
// (a certificate, a key that belongs to it), so a mistake is one line naming
// the setting instead of a failed handshake later. Nothing of a key's
// content ever reaches a message.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, type Config } from '../config.js';

function read(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`${setting}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function certificate(setting: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError(`${setting}: not a PEM certificate`);
  }
}

export function serverCredentials(c: Config): grpc.ServerCredentials {
  if (c.tlsCert === null || c.tlsKey === null) return grpc.ServerCredentials.createInsecure();
  const certPem = read('AGENTSTORE_TLS_CERT', c.tlsCert);
  const keyPem = read('AGENTSTORE_TLS_KEY', c.tlsKey);
  const cert = certificate('AGENTSTORE_TLS_CERT', certPem);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ConfigError('AGENTSTORE_TLS_KEY: not a PEM private key (an encrypted key is not supported)');
  }
  if (!cert.checkPrivateKey(key)) throw new ConfigError('AGENTSTORE_TLS_KEY: does not belong to the certificate in AGENTSTORE_TLS_CERT');
  let clientCa: Buffer | null = null;
  if (c.tlsClientCa !== null) {
    clientCa = read('AGENTSTORE_TLS_CLIENT_CA', c.tlsClientCa);
    certificate('AGENTSTORE_TLS_CLIENT_CA', clientCa);
  }
  return grpc.ServerCredentials.createSsl(clientCa, [{ private_key: keyPem, cert_chain: certPem }], clientCa !== null);
}
