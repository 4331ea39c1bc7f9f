/**
 * Fixture trees modelled on what the kernel shows in three situations: a hardened Docker container, a privileged
 * Kubernetes pod with host namespaces and host mounts, and a process on a host. The text mirrors real `/proc` output.
 */
import type { TreeSpec } from './fixture-tree.js';

interface StatusFields {
  readonly uid: string;
  readonly capEff: string;
  readonly capBnd: string;
  readonly capAmb?: string;
  readonly noNewPrivs?: string;
  readonly seccomp?: string;
}

/** A `/proc/<pid>/status` as Linux 6.x writes it (trimmed to the fields around the ones audited). */
export function statusText(fields: StatusFields): string {
  const lines = [
    'Name:\tnode',
    'Umask:\t0022',
    'State:\tS (sleeping)',
    'Tgid:\t7',
    'Pid:\t7',
    'PPid:\t0',
    `Uid:\t${fields.uid}\t${fields.uid}\t${fields.uid}\t${fields.uid}`,
    `Gid:\t${fields.uid}\t${fields.uid}\t${fields.uid}\t${fields.uid}`,
    'NSpid:\t7',
    'CapInh:\t0000000000000000',
    `CapPrm:\t${fields.capEff}`,
    `CapEff:\t${fields.capEff}`,
    `CapBnd:\t${fields.capBnd}`,
    `CapAmb:\t${fields.capAmb ?? '0000000000000000'}`,
  ];
  if (fields.noNewPrivs !== undefined) lines.push(`NoNewPrivs:\t${fields.noNewPrivs}`);
  if (fields.seccomp !== undefined) {
    lines.push(`Seccomp:\t${fields.seccomp}`, `Seccomp_filters:\t${fields.seccomp === '2' ? 1 : 0}`);
  }
  lines.push('Cpus_allowed_list:\t0-1', '');
  return lines.join('\n');
}

/** `/proc/<pid>/net/dev` with the given interfaces. */
export function netDevText(interfaces: readonly string[]): string {
  const header = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
  ];
  const rows = interfaces.map(
    (name) =>
      `${name.padStart(6)}:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0`,
  );
  return `${[...header, ...rows].join('\n')}\n`;
}

/** What `/proc/<pid>` shows of the audited process. */
interface ProcessView {
  readonly pid: number;
  readonly status: StatusFields;
  readonly mountinfo: string;
  readonly cgroup: string;
  readonly uidMap?: string;
  readonly apparmor: string;
  /** `attr/current`, the LSM label of older kernels. */
  readonly lsmLabel?: string;
  readonly pidNamespace: string;
  readonly netNamespace: string;
  readonly interfaces: readonly string[];
}

/** `/proc/self` pointing at the process, and the files of `/proc/<pid>` the audit reads. */
function processFiles(view: ProcessView): TreeSpec {
  const dir = `proc/${view.pid}`;
  return {
    'proc/self': { link: String(view.pid) },
    [`${dir}/status`]: statusText(view.status),
    [`${dir}/mountinfo`]: view.mountinfo,
    [`${dir}/cgroup`]: view.cgroup,
    ...(view.uidMap === undefined ? {} : { [`${dir}/uid_map`]: view.uidMap }),
    [`${dir}/attr/apparmor/current`]: view.apparmor,
    ...(view.lsmLabel === undefined ? {} : { [`${dir}/attr/current`]: view.lsmLabel }),
    [`${dir}/ns/pid`]: { link: view.pidNamespace },
    [`${dir}/ns/net`]: { link: view.netNamespace },
    [`${dir}/net/dev`]: netDevText(view.interfaces),
  };
}

const HARDENED_MOUNTINFO = `600 500 0:52 / / ro,relatime master:1 - overlay overlay ro,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B,upperdir=/var/lib/docker/overlay2/x/diff,workdir=/var/lib/docker/overlay2/x/work
601 600 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
602 600 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
603 602 0:57 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
604 600 0:58 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
605 604 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
606 602 0:54 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw
607 602 0:59 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
608 600 8:1 /var/lib/docker/containers/abc/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
609 600 8:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
610 600 8:1 /var/lib/docker/containers/abc/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
611 600 0:60 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw
612 600 8:1 /var/lib/docker/volumes/files/_data /srv/files ro,relatime - ext4 /dev/sda1 rw
613 601 0:55 /bus /proc/bus ro,relatime - proc proc rw
614 601 0:56 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
615 601 0:55 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
`;

/**
 * `docker run --read-only --user 10001 --cap-drop=ALL --security-opt=no-new-privileges` with the default seccomp and
 * AppArmor profiles; the application is PID 1 in its own PID namespace.
 */
export const HARDENED_CONTAINER: TreeSpec = {
  '.dockerenv': '',
  ...processFiles({
    pid: 1,
    status: { uid: '10001', capEff: '0000000000000000', capBnd: '0000000000000000', noNewPrivs: '1', seccomp: '2' },
    mountinfo: HARDENED_MOUNTINFO,
    cgroup: '0::/\n',
    uidMap: '         0          0 4294967295\n',
    apparmor: 'docker-default (enforce)\n',
    lsmLabel: 'docker-default (enforce)\n',
    pidNamespace: 'pid:[4026532570]',
    netNamespace: 'net:[4026532573]',
    interfaces: ['lo', 'eth0'],
  }),
  'srv/files/index.html': '<p>served</p>\n',
  tmp: { dir: true },
};

const PRIVILEGED_MOUNTINFO = `700 600 0:80 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containerd/snapshots/8/fs,upperdir=/var/lib/containerd/snapshots/9/fs,workdir=/var/lib/containerd/snapshots/9/work
701 700 0:81 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
702 700 0:6 / /dev rw,nosuid,relatime - devtmpfs udev rw,size=8000000k,nr_inodes=2000000,mode=755
703 700 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw
704 700 8:1 /var/lib/kubelet/pods/1234/etc-hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
705 700 8:1 /var/lib/kubelet/pods/1234/containers/app/abcd /dev/termination-log rw,relatime - ext4 /dev/sda1 rw
706 700 8:1 / /host rw,relatime - ext4 /dev/sda1 rw
707 700 0:24 /containerd/containerd.sock /run/containerd/containerd.sock rw,nosuid,nodev - tmpfs tmpfs rw,mode=755
708 700 8:1 /var/lib/kubelet /var/lib/kubelet rw,relatime shared:5 - ext4 /dev/sda1 rw
709 700 0:5 / /host/proc rw,relatime - proc proc rw
710 700 8:1 /etc /host-etc ro,relatime - ext4 /dev/sda1 rw
711 700 0:90 / /var/run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw,size=1000k
712 700 8:1 /var/lib/kubelet/pods/1234/volumes/kubernetes.io~empty-dir/cache /cache rw,relatime - ext4 /dev/sda1 rw
`;

/**
 * A Kubernetes pod with `privileged: true`, `hostPID`, `hostNetwork`, the host root at /host, host /proc, host /etc,
 * kubelet state, the containerd socket and an automounted service-account token.
 */
export const PRIVILEGED_CONTAINER: TreeSpec = {
  ...processFiles({
    pid: 4242,
    status: { uid: '0', capEff: '000001ffffffffff', capBnd: '000001ffffffffff', noNewPrivs: '0', seccomp: '0' },
    mountinfo: PRIVILEGED_MOUNTINFO,
    cgroup:
      '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-abcd.scope\n',
    uidMap: '         0          0 4294967295\n',
    apparmor: 'unconfined\n',
    pidNamespace: 'pid:[4026531836]',
    netNamespace: 'net:[4026531840]',
    interfaces: ['lo', 'eth0', 'docker0', 'cni0', 'veth8a1b2c3d'],
  }),
  'proc/1/comm': 'systemd\n',
  'proc/1/root/etc/hostname': 'node-1\n',
  'proc/1/environ': 'PATH=/usr/bin\0',
  'proc/1/ns/net': { link: 'net:[4026531840]' },
  'proc/2/comm': 'kthreadd\n',
  'var/run/secrets/kubernetes.io/serviceaccount/token': 'eyJhbGciOiJSUzI1NiJ9.fixture.signature',
  'etc/shadow': 'root:*:19000:0:99999:7:::\n',
  'proc/sys/kernel/core_pattern': 'core\n',
  'host/etc/shadow': 'root:*:19000:0:99999:7:::\n',
};

const HOST_MOUNTINFO = `22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 22 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=16318132k,nr_inodes=4079533,mode=755
26 22 0:25 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=3270280k,mode=755
27 22 259:1 / /boot/efi rw,relatime shared:30 - vfat /dev/nvme0n1p1 rw,fmask=0077,dmask=0077
28 22 8:17 / /home/me/My\\040Files rw,relatime shared:40 - ext4 /dev/sdb1 rw
`;

/** A desktop process outside any container: its own user, no seccomp, the initial namespaces. */
export const HOST_PROCESS: TreeSpec = {
  ...processFiles({
    pid: 3100,
    status: { uid: '1000', capEff: '0000000000000000', capBnd: '000001ffffffffff', noNewPrivs: '0', seccomp: '0' },
    mountinfo: HOST_MOUNTINFO,
    cgroup: '0::/user.slice/user-1000.slice/session-2.scope\n',
    apparmor: 'unconfined\n',
    pidNamespace: 'pid:[4026531836]',
    netNamespace: 'net:[4026531840]',
    interfaces: ['lo', 'wlp2s0', 'docker0'],
  }),
  'proc/1/comm': 'systemd\n',
  'proc/2/comm': 'kthreadd\n',
  run: { dir: true },
};
