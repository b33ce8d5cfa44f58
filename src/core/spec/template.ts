// The config.json that `hako spec` writes: the same starting point `runc spec` (1.1) gives,
// so that instructions written for runc work unchanged. `--rootless` adapts it the way
// `runc spec --rootless` does.

import type { Mount, Spec } from './types.js';

/** The runtime-spec version hako implements, written into generated configs and state. */
export const OCI_VERSION = '1.2.0';

export interface DefaultSpecOptions {
  rootless: boolean;
  /** The command to run; `["sh"]` when absent. */
  args?: string[];
  /** Host ids mapped to root in a rootless spec; the caller's effective ids when absent. */
  uid?: number;
  gid?: number;
}

/** Capabilities runc grants by default; the same list goes into every set but inheritable. */
const DEFAULT_CAPABILITIES = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function defaultSpec(opts: DefaultSpecOptions): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: [...(opts.args ?? ['sh'])],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPABILITIES],
        effective: [...DEFAULT_CAPABILITIES],
        permitted: [...DEFAULT_CAPABILITIES],
        ambient: [...DEFAULT_CAPABILITIES],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'hako',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
      ],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  return opts.rootless ? toRootless(spec, opts) : spec;
}

function defaultMounts(): Mount[] {
  const noSuidExecDev = ['nosuid', 'noexec', 'nodev'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev', type: 'tmpfs', source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm', type: 'tmpfs', source: 'shm',
      options: [...noSuidExecDev, 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: [...noSuidExecDev] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: [...noSuidExecDev, 'ro'] },
    {
      destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup',
      options: [...noSuidExecDev, 'relatime', 'ro'],
    },
  ];
}

/**
 * An unprivileged user can create a user namespace but holds no other privilege on the host:
 * only its own ids can be mapped, a network namespace would have no connectivity, sysfs cannot
 * be mounted fresh (only bound), ids in mount options may be unmapped, and cgroup limits
 * cannot be written.
 */
function toRootless(spec: Spec, opts: DefaultSpecOptions): Spec {
  const linux = spec.linux ?? {};
  const uid = opts.uid ?? process.geteuid?.() ?? 0;
  const gid = opts.gid ?? process.getegid?.() ?? 0;

  const namespaces = (linux.namespaces ?? [])
    .filter((ns) => ns.type !== 'network' && ns.type !== 'user')
    .concat({ type: 'user' });

  const mounts = (spec.mounts ?? []).map((m): Mount => {
    if (m.destination === '/sys') {
      return {
        destination: '/sys', type: 'none', source: '/sys',
        options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
      };
    }
    if (!m.options) return m;
    const options = m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return { ...m, options };
  });

  const { resources: _dropped, ...rest } = linux;
  return {
    ...spec,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
      ...rest,
      namespaces,
    },
  };
}
