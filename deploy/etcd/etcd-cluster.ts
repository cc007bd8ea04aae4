import {
  loadLayout,
  planLayout,
  saveLayout,
  type ClusterLayout,
  type MemberLayout,
} from './cluster-layout';
import { resolveSettings, type ClusterSettings, type EtcdClusterOptions } from './cluster-options';
import { memberDataDir, memberLogFile, removeClusterData, removeMemberDirs } from './data-dir';
import { EtcdMemberExitedError, EtcdMemberProcess, type EtcdMember } from './etcd-member';
import { clientUrlOf, httpUrl, memberFlags } from './member-flags';
import { etcdProcesses } from './process-registry';

/** Port picking can race with other processes; a few fresh tries make that invisible. */
const MAX_START_ATTEMPTS = 3;

/** A local etcd cluster of real etcd processes on loopback ports. */
export class EtcdCluster {
  /** Client URLs of all members. */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  readonly dataDir: string;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly processes: EtcdMemberProcess[],
    private readonly settings: ClusterSettings,
  ) {
    this.members = processes;
    this.endpoints = processes.map((member) => member.clientUrl);
    this.dataDir = settings.dataDir;
  }

  /** Starts every member and resolves once all of them report healthy. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    const settings = resolveSettings(options);
    if (settings.ownsDataDir && !settings.keepData) etcdProcesses.addTempDir(settings.dataDir);
    try {
      return new EtcdCluster(await startMembers(settings), settings);
    } catch (error) {
      if (!settings.keepData) removeData(settings);
      throw error;
    }
  }

  /** Waits until every member that should be running (not stopped or killed) is healthy. */
  async waitHealthy(timeoutMs: number = this.settings.startTimeoutMs): Promise<void> {
    if (this.stopping !== undefined) throw new Error('etcd cluster is stopped');
    const wanted = this.processes.filter((member) => member.shouldBeRunning);
    if (wanted.length === 0) throw new Error('no etcd member of this cluster is meant to run');
    await Promise.all(wanted.map((member) => member.waitHealthy(timeoutMs)));
  }

  /** Stops every member and removes the data unless keepData. Safe to call again. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.settings.keepData) {
        // The data goes with the cluster, so nothing is gained by a clean shutdown: SIGKILL
        // every member at once (etcd is crash-safe), never waiting on a leader hand-off.
        await Promise.all(this.processes.map((member) => member.kill()));
        removeData(this.settings);
        return;
      }
      // Kept data: one at a time, cleanly. A leader told to stop hands leadership to a live
      // follower first, and if that follower is itself stopping or paused, the hand-off
      // waits out a 6 s timeout.
      const pausedFirst = [...this.processes].sort((a, b) => Number(b.paused) - Number(a.paused));
      for (const member of pausedFirst) await member.stop();
    })();
    return this.stopping;
  }
}

async function startMembers(settings: ClusterSettings): Promise<EtcdMemberProcess[]> {
  const kept = loadLayout(settings.dataDir);
  if (kept !== undefined && kept.members.length !== settings.memberCount) {
    throw new Error(
      `data dir ${settings.dataDir} holds a ${kept.members.length}-member cluster, ` +
        `not ${settings.memberCount}`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    const layout =
      kept === undefined
        ? await planLayout(settings.memberCount, settings.host, settings.clientPorts)
        : withClientPorts(kept, settings.clientPorts);
    saveLayout(settings.dataDir, layout);
    const members = layout.members.map((member) => createMember(settings, layout, member));
    try {
      // All members must be up before any can be healthy: health needs a quorum.
      await Promise.all(members.map((member) => member.start()));
      await Promise.all(members.map((member) => member.waitHealthy(settings.startTimeoutMs)));
      return members;
    } catch (error) {
      await Promise.all(members.map((member) => member.kill()));
      const retry =
        kept === undefined &&
        attempt < MAX_START_ATTEMPTS &&
        lostPickedPort(error, settings.clientPorts);
      if (!retry) throw error;
      // Members that did start wrote the abandoned token and peer URLs into their dirs.
      removeMemberDirs(settings);
    }
  }
}

function removeData(settings: ClusterSettings): void {
  removeClusterData(settings);
  etcdProcesses.removeTempDir(settings.dataDir);
}

/** Client URLs are not part of etcd's membership, so a kept cluster may move them. */
function withClientPorts(
  layout: ClusterLayout,
  clientPorts: readonly number[] | undefined,
): ClusterLayout {
  if (clientPorts === undefined) return layout;
  return {
    ...layout,
    members: layout.members.map((member, index) => ({ ...member, clientPort: clientPorts[index] })),
  };
}

function createMember(
  settings: ClusterSettings,
  layout: ClusterLayout,
  member: MemberLayout,
): EtcdMemberProcess {
  const dataDir = memberDataDir(settings, member.name);
  return new EtcdMemberProcess({
    name: member.name,
    clientUrl: clientUrlOf(settings.host, member.clientPort, settings.tls),
    peerUrl: httpUrl(settings.host, member.peerPort),
    dataDir,
    logFile: memberLogFile(settings, member.name),
    binary: settings.binary,
    args: memberFlags(layout, member, settings.host, dataDir, settings.extraFlags, settings.tls),
    startTimeoutMs: settings.startTimeoutMs,
    tls: settings.tls,
  });
}

/** True when etcd could not bind a port the harness picked (someone took it meanwhile). */
function lostPickedPort(error: unknown, fixedClientPorts: readonly number[] | undefined): boolean {
  if (!(error instanceof EtcdMemberExitedError)) return false;
  const match = /listen tcp [^ ]*:(\d+): bind: address already in use/.exec(error.logTail);
  return match !== null && !(fixedClientPorts ?? []).includes(Number(match[1]));
}
