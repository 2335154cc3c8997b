// Certificates for TLS tests, made in the test: a CA, a server certificate
// for 127.0.0.1/localhost and client certificates signed by that CA (or by
// another one), as PEM files in a temporary folder. Keys come from
// node:crypto; node-forge (a devDependency, so `make test` always has it)
// writes the X.509 certificates, which node:crypto cannot.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

interface Issued {
  certPem: string;
  keyPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

function keyPair(): { keyPem: string; publicKey: forge.pki.rsa.PublicKey; key: forge.pki.rsa.PrivateKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    keyPem,
    key: forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey,
  };
}

function issue(commonName: string, issuer: Issued | null, extensions: object[]): Issued {
  const { keyPem, key, publicKey } = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '01' + randomBytes(8).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer((issuer?.cert ?? cert).subject.attributes);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, cert, key };
}

const caExtensions = [
  { name: 'basicConstraints', cA: true, critical: true },
  { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
];

export interface TestCerts {
  dir: string;
  /** PEM file paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** PEM contents, for clients. */
  ca: Buffer;
  client: { cert: Buffer; key: Buffer };
  /** A client certificate signed by a CA the server does not trust. */
  stranger: { cert: Buffer; key: Buffer };
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-tls-'));
  const ca = issue('agentstore test CA', null, caExtensions);
  const server = issue('localhost', ca, [
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
  ]);
  const clientExt = [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }];
  const client = issue('agent runtime', ca, clientExt);
  const otherCa = issue('another CA', null, caExtensions);
  const stranger = issue('stranger', otherCa, clientExt);
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return {
    dir,
    caCert: file('ca.pem', ca.certPem),
    serverCert: file('server.pem', server.certPem),
    serverKey: file('server-key.pem', server.keyPem),
    ca: Buffer.from(ca.certPem),
    client: { cert: Buffer.from(client.certPem), key: Buffer.from(client.keyPem) },
    stranger: { cert: Buffer.from(stranger.certPem), key: Buffer.from(stranger.keyPem) },
  };
}
