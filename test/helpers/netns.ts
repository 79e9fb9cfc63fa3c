/**
 * Stand-in machines for tests: Linux network namespaces, each with its loopback up and a veth
 * link to this (the host) namespace on a /30 of its own. A process started with `exec` inside one
 * sees only that link, so two namespaces are two hosts on one network; `unplug` takes the host
 * side of a link down, and the machine behind it goes silent (nothing refused, nothing reset).
 *
 * Needs root and iproute2. Names carry this process's id, so a run first removes whatever a
 * crashed earlier run of the same id left behind, and `remove` deletes everything it made.
 */
import { spawnSync } from 'node:child_process';

export interface NetHost {
  /** The namespace's name. */
  ns: string;
  /** The namespace's address on its link. */
  ip: string;
  /** The host namespace's address on the same link (to reach services of the host from inside). */
  hostIp: string;
  /** The host side of the link, the cable `unplug` pulls. */
  hostLink: string;
}

function ip(...args: string[]): { ok: boolean; output: string } {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}${run.error?.message ?? ''}`.trim() };
}

function must(...args: string[]): void {
  const run = ip(...args);
  if (!run.ok) throw new Error(`ip ${args.join(' ')} failed: ${run.output}`);
}

/** Why namespaces cannot be made here (not root, no iproute2, no permission), or undefined. */
export function netnsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `duo-${process.pid}-probe`;
  const made = ip('netns', 'add', probe);
  if (!made.ok) return `ip netns add fails here (${made.output || 'no output'})`;
  ip('netns', 'del', probe);
  return undefined;
}

/**
 * A /24 of 10.231.0.0/16 picked from the pid, moved on past any already in use (another run),
 * so concurrent runs do not clash; each host gets a /30 of it.
 */
function freeSubnet(): number {
  const used = ip('-4', '-o', 'addr', 'show').output;
  for (let i = 0; i < 250; i++) {
    const n = (process.pid + i) % 250;
    if (!used.includes(`10.231.${n}.`)) return n;
  }
  throw new Error('no free 10.231.x.0/24 subnet for the test namespaces');
}

/** Removes a namespace (and with it its end of the link) and the host end of its link, if present. */
function removeHost(ns: string, hostLink: string): void {
  ip('netns', 'del', ns);
  ip('link', 'del', hostLink);
}

/** `count` hosts named `duo-<pid>-a`, `-b`, …; deleting them is `removeHosts`. */
export function createHosts(count: number): NetHost[] {
  const subnet = freeSubnet();
  const hosts: NetHost[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const letter = String.fromCharCode(97 + i);
      // Link names are at most 15 characters.
      const host: NetHost = {
        ns: `duo-${process.pid}-${letter}`,
        ip: `10.231.${subnet}.${4 * i + 2}`,
        hostIp: `10.231.${subnet}.${4 * i + 1}`,
        hostLink: `dv${process.pid}${letter}`.slice(-15),
      };
      removeHost(host.ns, host.hostLink);
      hosts.push(host);
      must('netns', 'add', host.ns);
      must('-n', host.ns, 'link', 'set', 'lo', 'up');
      must('link', 'add', host.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
      must('addr', 'add', `${host.hostIp}/30`, 'dev', host.hostLink);
      must('link', 'set', host.hostLink, 'up');
      must('-n', host.ns, 'addr', 'add', `${host.ip}/30`, 'dev', 'eth0');
      must('-n', host.ns, 'link', 'set', 'eth0', 'up');
    }
  } catch (error) {
    removeHosts(hosts);
    throw error;
  }
  return hosts;
}

export function removeHosts(hosts: NetHost[]): void {
  for (const host of hosts) removeHost(host.ns, host.hostLink);
}

/** Pulls the cable: the host end of the link goes down, and packets to and from the namespace are lost. */
export function unplug(host: NetHost): void {
  must('link', 'set', host.hostLink, 'down');
}

/** The argv that runs `command` inside the namespace (`ip netns exec` execs it: the pid is the command's). */
export function inHost(host: NetHost, command: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', host.ns, command, ...args]];
}
