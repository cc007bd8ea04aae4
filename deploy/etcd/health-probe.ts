import { get } from 'node:http';

/**
 * One GET of etcd's `/health`. True only for {"health":"true"}, which etcd 3.4 answers
 * when the member sees a leader, has no alarm and can serve a quorum read.
 * A paused or dead member answers false within `timeoutMs`.
 */
export function probeHealth(clientUrl: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // agent:false so no keep-alive socket outlives the probe and holds the process open.
    const request = get(`${clientUrl}/health`, { agent: false, timeout: timeoutMs }, (response) => {
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
