// A certificate authority made per run with openssl, and serving certificates it signs.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { run } from './util.js';

export interface Pki { dir: string; caCert: string; caKey: string }

export async function makeCa(dir: string, cn = 'kollect-test-ca'): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { dir, caCert, caKey };
}

/** Issues a serving certificate for loopback names; returns [certFile, keyFile]. */
export async function issueServerCert(pki: Pki, name: string, extraDns: string[] = []): Promise<[string, string]> {
  const key = path.join(pki.dir, `${name}.key`);
  const csr = path.join(pki.dir, `${name}.csr`);
  const crt = path.join(pki.dir, `${name}.crt`);
  const ext = path.join(pki.dir, `${name}.ext`);
  const dns = ['localhost', ...extraDns].map((d, i) => `DNS.${i + 1} = ${d}`).join('\n');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=@alt\n[alt]\n${dns}\nIP.1 = 127.0.0.1\nIP.2 = 10.0.0.1\n`);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext]);
  return [crt, key];
}

/** An RSA key pair for service-account token signing. */
export async function makeRsaKey(dir: string, name: string): Promise<{ key: string; pub: string }> {
  const key = path.join(dir, `${name}.key`);
  const pub = path.join(dir, `${name}.pub`);
  await run('openssl', ['genrsa', '-out', key, '2048']);
  await run('openssl', ['rsa', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}
