/**
 * What each check looks at, why it matters for an authenticated route, and the Docker/Kubernetes setting that fixes
 * it. One table, so the report, the CLI and docs/posture.md say the same thing.
 */
import type { PostureCheckId, PostureFix, PostureSeverity } from './types.js';

/**
 * The fixed text of one check.
 */
export interface CheckDescription {
  readonly title: string;
  /** The most severe result the check can report; an `unknown` result carries it. */
  readonly worstCase: PostureSeverity;
  readonly why: string;
  readonly fix: PostureFix;
}

/**
 * Every check, in report order.
 */
export const CATALOG: Readonly<Record<PostureCheckId, CheckDescription>> = Object.freeze({
  RUNS_AS_ROOT: {
    title: 'Process runs as root (effective UID 0)',
    worstCase: 'high',
    why: 'A route that reads or writes a file does so as root: every file permission in the container stops nothing, and a container escape lands as root on the host unless user namespaces remap it.',
    fix: {
      docker: 'USER 10001 in the Dockerfile, or docker run --user 10001:10001',
      kubernetes: 'securityContext: { runAsNonRoot: true, runAsUser: 10001 }',
    },
  },
  CAPABILITIES: {
    title: 'Effective capabilities beyond NET_BIND_SERVICE',
    worstCase: 'critical',
    why: 'Capabilities are root powers the process can use right now: SYS_ADMIN mounts filesystems, SYS_PTRACE reads other processes, DAC_READ_SEARCH/DAC_OVERRIDE ignore file permissions. A path bug in one route then reads anything.',
    fix: {
      docker: 'docker run --cap-drop=ALL [--cap-add=NET_BIND_SERVICE]; never --privileged',
      kubernetes: 'securityContext: { capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] }, privileged: false }',
    },
  },
  NO_NEW_PRIVS_OFF: {
    title: 'no_new_privs is off',
    worstCase: 'medium',
    why: 'Without no_new_privs, a setuid or file-capability binary run by a compromised process regains privileges the container dropped.',
    fix: {
      docker: 'docker run --security-opt=no-new-privileges',
      kubernetes: 'securityContext: { allowPrivilegeEscalation: false }',
    },
  },
  SECCOMP_OFF: {
    title: 'No seccomp filter',
    worstCase: 'medium',
    why: 'Seccomp blocks the system calls most kernel escapes need (unshare, keyctl, bpf, mount). Without it every kernel bug is reachable from the process.',
    fix: {
      docker: 'keep the default profile: no --security-opt seccomp=unconfined',
      kubernetes: 'securityContext: { seccompProfile: { type: RuntimeDefault } }',
    },
  },
  LSM_UNCONFINED: {
    title: 'No AppArmor or SELinux confinement',
    worstCase: 'low',
    why: 'A mandatory access control profile limits which files and mounts the process can touch even as root; unconfined, only file permissions do.',
    fix: {
      docker: 'keep docker-default (no --security-opt apparmor=unconfined / label=disable)',
      kubernetes:
        'securityContext: { appArmorProfile: { type: RuntimeDefault } } (or seLinuxOptions with a container_t type)',
    },
  },
  ROOTFS_WRITABLE: {
    title: 'Root filesystem is writable',
    worstCase: 'medium',
    why: 'A route that writes a file on behalf of a request (or a process that was compromised through one) can replace code, certificates and configuration the service trusts on its next start.',
    fix: {
      docker: 'docker run --read-only --tmpfs /tmp',
      kubernetes: 'securityContext: { readOnlyRootFilesystem: true } plus an emptyDir for /tmp',
    },
  },
  HOST_PATH_MOUNTED: {
    title: 'Host paths are mounted into the container',
    worstCase: 'critical',
    why: 'A host directory inside the container is one "../" or one symlink away from any route that opens files: the host root, /proc, /sys, /etc or kubelet state turn a confined path bug into host access.',
    fix: {
      docker:
        'remove -v /:/host, -v /proc:…, -v /etc:… and similar binds; mount only the data the service needs, read-only',
      kubernetes: 'remove hostPath volumes (Pod Security "restricted" forbids them); use configMap/secret/emptyDir/PVC',
    },
  },
  RUNTIME_SOCKET: {
    title: 'Container runtime socket is reachable',
    worstCase: 'critical',
    why: 'Whoever can talk to docker.sock, containerd.sock or crio.sock can start a privileged container with the host filesystem mounted: it is root on the host.',
    fix: {
      docker:
        'never -v /var/run/docker.sock:/var/run/docker.sock; use a narrowly scoped API proxy if the service needs the API',
      kubernetes: 'remove the hostPath volume for the runtime socket',
    },
  },
  HOST_PID_NAMESPACE: {
    title: 'Host PID namespace',
    worstCase: 'high',
    why: 'With the host PID namespace, /proc/<pid>/root, /proc/<pid>/environ and /proc/<pid>/cwd of host processes are paths: "../../proc/1/root/etc/shadow" is the classic escape through a file route.',
    fix: {
      docker: 'no --pid=host',
      kubernetes: 'hostPID: false (the default)',
    },
  },
  HOST_NETWORK_NAMESPACE: {
    title: 'Host network namespace',
    worstCase: 'high',
    why: 'With the host network, the process reaches services bound to the host loopback (kubelet, metadata proxies, databases) and an SSRF-style route reaches them too.',
    fix: {
      docker: 'no --network=host',
      kubernetes: 'hostNetwork: false (the default)',
    },
  },
  SERVICE_ACCOUNT_TOKEN: {
    title: 'Kubernetes service-account token is mounted',
    worstCase: 'medium',
    why: 'A route that discloses a file can disclose the token, and the token speaks for the pod to the Kubernetes API.',
    fix: {
      docker: 'not applicable',
      kubernetes: 'automountServiceAccountToken: false on the pod or service account, unless the service calls the API',
    },
  },
  HOST_FILES_READABLE: {
    title: 'Sensitive files are readable by the process',
    worstCase: 'high',
    why: 'These files are the first targets of a path traversal; if the process cannot read them, a traversal bug discloses nothing from them.',
    fix: {
      docker: 'run as a non-root user (USER 10001) and drop DAC_OVERRIDE/DAC_READ_SEARCH (--cap-drop=ALL)',
      kubernetes: 'securityContext: { runAsNonRoot: true, capabilities: { drop: ["ALL"] } }',
    },
  },
  PROC_SYS_WRITABLE: {
    title: '/proc/sys is writable',
    worstCase: 'critical',
    why: 'Most sysctls are global to the host: a process that can write kernel.core_pattern or kernel.modprobe makes the kernel run a program of its choice as host root; any other write reconfigures every workload on the node.',
    fix: {
      docker: 'never --privileged (Docker mounts /proc/sys read-only otherwise); set needed sysctls with --sysctl',
      kubernetes: 'privileged: false and procMount: Default; set namespaced sysctls in the pod securityContext.sysctls',
    },
  },
  SANDBOX_ROOT_EXPOSED: {
    title: 'Sandbox root is exposed',
    worstCase: 'high',
    why: 'The sandbox root is the last line for file routes: if it is a host path or its parent is readable, a confinement bug reaches more than the served files.',
    fix: {
      docker:
        'mount the served directory on its own (-v data:/srv/files:ro) and make its parent unreadable to the service user',
      kubernetes:
        'serve from a dedicated volume mount (readOnly: true), not a hostPath; keep the parent directory mode 0711 or stricter',
    },
  },
  PERMISSION_MODEL: {
    title: "Node's permission model is not enforcing",
    worstCase: 'medium',
    why: 'Without --permission, a route that is tricked into spawning a process, loading an addon or opening a file outside its sandbox is limited only by the UID. The model is a seat belt (Node says so: symlinks and already-open descriptors are not checked), but it turns the common mistakes into ERR_ACCESS_DENIED.',
    fix: {
      docker:
        'CMD ["node", "--permission", "--allow-fs-read=/app", …, "server.js"] (koa-mtls doctor --launch-line prints the list)',
      kubernetes:
        'command: ["node", "--permission", "--allow-fs-read=/app", …] or env NODE_OPTIONS (koa-mtls doctor --launch-line)',
    },
  },
  PERMISSION_FS_READ: {
    title: 'Permission model allows reading every path',
    worstCase: 'medium',
    why: 'A read grant of * or / gives a path bug the whole filesystem again; the service needs its code, its certificates and its sandbox roots.',
    fix: {
      docker: 'replace --allow-fs-read=* with one --allow-fs-read per directory the service reads',
      kubernetes: 'replace --allow-fs-read=* with one --allow-fs-read per directory the service reads',
    },
  },
  PERMISSION_FS_WRITE: {
    title: 'Permission model allows writes',
    worstCase: 'medium',
    why: 'Every write grant is a place a compromised route can change; a read-only service needs none.',
    fix: {
      docker: 'drop --allow-fs-write, or grant only the directories the service writes',
      kubernetes: 'drop --allow-fs-write, or grant only the directories the service writes',
    },
  },
  PERMISSION_CHILD_PROCESS: {
    title: 'Permission model allows child processes',
    worstCase: 'high',
    why: 'A spawned program runs outside the permission model: a route that reaches spawn or exec can do anything the UID can.',
    fix: {
      docker: 'remove --allow-child-process from the node command (or NODE_OPTIONS)',
      kubernetes: 'remove --allow-child-process from the container command (or NODE_OPTIONS)',
    },
  },
  PERMISSION_ADDONS: {
    title: 'Permission model allows native addons',
    worstCase: 'high',
    why: 'A native addon is machine code in the process: nothing it does is checked by the permission model.',
    fix: {
      docker: 'remove --allow-addons from the node command (or NODE_OPTIONS)',
      kubernetes: 'remove --allow-addons from the container command (or NODE_OPTIONS)',
    },
  },
  PERMISSION_WORKER: {
    title: 'Permission model allows worker threads',
    worstCase: 'low',
    why: 'Workers inherit the model, but a route that can start one runs more code with the same grants than it needs.',
    fix: {
      docker: 'remove --allow-worker from the node command unless the service uses workers',
      kubernetes: 'remove --allow-worker from the container command unless the service uses workers',
    },
  },
  PERMISSION_WASI: {
    title: 'Permission model allows WASI',
    worstCase: 'low',
    why: 'A WASI instance gets its own preopened directories; an HTTP service rarely needs one.',
    fix: {
      docker: 'remove --allow-wasi from the node command unless the service uses WASI',
      kubernetes: 'remove --allow-wasi from the container command unless the service uses WASI',
    },
  },
});
