// A TLS front for a plaintext server, as a Temporal cluster behind TLS or mTLS looks to a client:
// it terminates TLS (offering h2 by ALPN, as gRPC needs), optionally requires a client certificate
// signed by the CA, and pipes the bytes to the real server.
import tls from 'node:tls';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../harness/util.js';
import { makeCa, issueServerCert, type Pki } from '../harness/pki.js';

export interface TlsFront { port: number; close(): Promise<void> }

export async function tlsFront(opts: { target: { host: string; port: number }; cert: string; key: string; clientCa?: string }): Promise<TlsFront> {
  const server = tls.createServer({
    cert: readFileSync(opts.cert), key: readFileSync(opts.key), ALPNProtocols: ['h2'],
    ...(opts.clientCa ? { ca: readFileSync(opts.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
  }, (client) => {
    const upstream = net.connect(opts.target.port, opts.target.host);
    client.pipe(upstream).pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end);
    upstream.on('error', end);
  });
  // Handshake failures (a client without a certificate) are the point of some tests, not errors.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A CA, a serving certificate for `serverName` (and loopback) and a client certificate, in `dir`. */
export async function tlsMaterial(dir: string, serverName: string): Promise<{ pki: Pki; serverCert: string; serverKey: string; clientCert: string; clientKey: string }> {
  const pki = await makeCa(dir, 'kollect-temporal-test-ca');
  const [serverCert, serverKey] = await issueServerCert(pki, 'temporal', [serverName]);
  const clientKey = path.join(dir, 'client.key');
  const csr = path.join(dir, 'client.csr');
  const clientCert = path.join(dir, 'client.crt');
  const ext = path.join(dir, 'client.ext');
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', clientKey, '-out', csr, '-subj', '/CN=kollect-operator']);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-out', clientCert, '-days', '2', '-extfile', ext]);
  return { pki, serverCert, serverKey, clientCert, clientKey };
}
