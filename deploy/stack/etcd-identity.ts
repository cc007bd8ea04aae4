import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EtcdMember, EtcdTlsFiles } from '../etcd';
import { RUN_MARKER } from '../etcd/log-tail';
import { describeHolder, portHolder } from './port-holder';

interface MemberListResponse {
  header?: { member_id?: string };
  members?: Array<{ ID?: string; name?: string; peerURLs?: string[] }>;
}

/**
 * Proves that what answers at `member.clientUrl` is the etcd this stack started from its
 * data dir, not another etcd on the same port: the answering member's id, name and peer
 * URL must be this member's, its id must be the one this launch logged for the data dir
 * (etcd logs `local-member-id` as it opens it), and the port must be held by this
 * member's process. Resolves with the member id (hex, as etcdctl prints it).
 */
export async function verifyEtcdMember(member: EtcdMember, tls?: EtcdTlsFiles): Promise<string> {
  const fail = (why: string): Error =>
    new Error(
      `${member.clientUrl} is not the etcd this stack started (${member.name}, data ${member.dataDir}): ${why}. ` +
        `Another etcd holds the port; stop it or move the stack to other ports.`,
    );
  const port = Number(new URL(member.clientUrl).port);
  const holder = portHolder(port);
  if (holder !== undefined && member.pid !== undefined && holder.pid !== member.pid) {
    throw fail(`the port is held by ${describeHolder(holder)}, not by pid ${member.pid}`);
  }
  const answer = await postJson<MemberListResponse>(`${member.clientUrl}/v3/cluster/member/list`, {}, 3000, tls);
  const id = answer.header?.member_id;
  const self = answer.members?.find((m) => m.ID === id);
  if (id === undefined || self === undefined) throw fail('it does not say which member it is');
  const hex = BigInt(id).toString(16).padStart(16, '0');
  if (self.name !== member.name || !(self.peerURLs ?? []).includes(member.peerUrl)) {
    throw fail(`it answers as member ${hex} named ${JSON.stringify(self.name)} with peer URLs ${(self.peerURLs ?? []).join(',')}`);
  }
  const logged = loggedMemberId(member.logFile);
  if (logged !== undefined && logged !== hex) {
    throw fail(`it answers as member ${hex}, but its data dir belongs to member ${logged}`);
  }
  return hex;
}

/** The `local-member-id` the latest launch in the member's log reported, if any yet. */
function loggedMemberId(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const launch = text.slice(Math.max(0, text.lastIndexOf(RUN_MARKER)));
  return /"local-member-id":"([0-9a-f]+)"/.exec(launch)?.[1]?.padStart(16, '0');
}

function postJson<T>(url: string, body: unknown, timeoutMs = 3000, tls?: EtcdTlsFiles): Promise<T> {
  return new Promise((resolve, reject) => {
    const options = { method: 'POST', agent: false, timeout: timeoutMs, headers: { 'content-type': 'application/json' } };
    // An etcd serving TLS with --client-cert-auth answers only a client presenting a certificate.
    const secure = tls ? { ...options, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : undefined;
    const req = secure ? httpsRequest(url, secure, onResponse) : request(url, options, onResponse);
    function onResponse(res: IncomingMessage): void {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new Error(`${url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    }
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
