// The fake's TLS certificate, and the in-process way to make Node trust it.
import tls from 'node:tls'
import selfsigned from 'selfsigned'

export interface FakeCert { key: string; cert: string }

// One certificate per process: key generation costs ~100 ms, and trusting one CA
// once keeps the process-wide trust list short however many fakes a test starts.
let shared: Promise<FakeCert> | undefined

export function fakeCertificate (): Promise<FakeCert> {
  shared ??= selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }))
  return shared
}

/**
 * Trust `ca` in this process for every TLS client that does not pass its own
 * `ca`: node:https (so @azure/identity's core-rest-pipeline) AND the global
 * fetch (undici, used by the Graph client). NODE_EXTRA_CA_CERTS is only read
 * at process start; tls.setDefaultCACertificates (Node >= 22.15 / 23.5)
 * changes the default store live, even for agents created earlier.
 */
export function trustFakeCa (ca: string): void {
  const current = tls.getCACertificates('default')
  const normalized = ca.trim()
  if (current.some((pem) => pem.trim() === normalized)) return
  tls.setDefaultCACertificates([...current, normalized])
}
