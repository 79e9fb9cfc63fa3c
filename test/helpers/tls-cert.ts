/**
 * Self-signed certificates made at test time with openssl (an EC P-256 key, valid for a day), for
 * brokers that serve TLS. `opensslMissing` says when none can be made here.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const opensslMissing = spawnSync('openssl', ['version']).status !== 0;

export interface TestCertificate {
  cert: string;
  key: string;
}

/** Writes cert.pem and key.pem into `dir`; `altNames` is the subjectAltName list (`DNS:…`, `IP:…`). */
export function makeCertificate(dir: string, altNames: string[]): TestCertificate {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      `subjectAltName=${altNames.join(',')}`,
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  return { cert, key };
}
