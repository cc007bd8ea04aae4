import { EtcdCluster, type EtcdMember } from '../etcd';
import { verifyEtcdMember } from './etcd-identity';

/** A member as its owner knows it, but answering at another etcd's client URL. */
function elsewhere(member: EtcdMember, clientUrl: string, pid: number | undefined): EtcdMember {
  return { ...member, name: member.name, peerUrl: member.peerUrl, dataDir: member.dataDir, logFile: member.logFile, clientUrl, pid, running: true, paused: false };
}

describe('verifyEtcdMember', () => {
  let ours: EtcdCluster;
  let theirs: EtcdCluster;
  beforeAll(async () => {
    [ours, theirs] = await Promise.all([EtcdCluster.start(), EtcdCluster.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([ours?.stop(), theirs?.stop()]);
  });

  it('accepts the member it started and returns its id as etcdctl prints it', async () => {
    expect(await verifyEtcdMember(ours.members[0])).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses another etcd on the port: by the process holding it, and by the member that answers', async () => {
    const member = ours.members[0];
    await expect(verifyEtcdMember(elsewhere(member, theirs.endpoints[0], member.pid))).rejects.toThrow(
      new RegExp(`is not the etcd this stack started .*the port is held by pid ${theirs.members[0].pid} .*not by pid ${member.pid}`),
    );
    // Where the port's holder cannot be told, etcd's own answer gives it away.
    await expect(verifyEtcdMember(elsewhere(member, theirs.endpoints[0], undefined))).rejects.toThrow(
      /is not the etcd this stack started .*answers as member [0-9a-f]{16} named "etcd-0" with peer URLs http:\/\/127\.0\.0\.1:\d+/,
    );
  });
});
