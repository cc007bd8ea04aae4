import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { get as getTls } from 'node:https';
import type { EtcdTlsFiles } from './cluster-options';

/**
 * One GET of etcd's `/health`. True only for {"health":"true"}, which etcd 3.4 answers
 * when the member sees a leader, has no alarm and can serve a quorum read.
 * A paused or dead member answers false within `timeoutMs`.
 */
export function probeHealth(clientUrl: string, timeoutMs: number, tls?: EtcdTlsFiles): Promise<boolean> {
  return new Promise((resolve) => {
    // agent:false so no keep-alive socket outlives the probe and holds the process open.
    const options = tls
      ? { agent: false, timeout: timeoutMs, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) }
      : { agent: false, timeout: timeoutMs };
    const request = (tls ? getTls : get)(`${clientUrl}/health`, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && isHealthyBody(body)));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy(new Error('health probe timed out')));
    request.on('error', () => resolve(false));
  });
}

function isHealthyBody(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}
