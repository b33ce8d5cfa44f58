/**
 * A rehearsal of a container's setup, run once while `npm install` builds the start-up
 * snapshot (main.ts). V8 compiles a function on its first call and keeps the bytecode of the
 * functions that ran in a snapshot, so code that runs here starts compiled in every later
 * command: about a millisecond for every few kilobytes of source on the project's machines.
 *
 * The setup is played against a RecordingSys and a made-up host: nothing here touches the
 * machine, reads the environment or fills a cache that a real command would then trust.
 */
import { withDefaultDevices } from '../core/cgroups/default-devices.js';
import type { CgroupLayout } from '../core/cgroups/types.js';
import { formatLogLine } from '../core/log.js';
import { planNamespaces } from '../core/namespaces/setup.js';
import { prepareProcess } from '../core/process/index.js';
import { type HostMount, type HostView, setupRootfs } from '../core/rootfs/index.js';
import { validateSpec } from '../core/spec/load.js';
import { defaultSpec } from '../core/spec/template.js';
import type { Spec } from '../core/spec/types.js';
import { RecordingSys, statDir, statFile } from '../core/sys/recording.js';

const HOST_ROOT: HostMount = { mountPoint: '/', fstype: 'ext4', flags: 0 };

/** Every path is a directory on one ext4 mount; nothing is in a user namespace. */
const REHEARSAL_HOST: HostView = {
  fileType: () => 'directory',
  realpath: (path) => path,
  exists: () => true,
  mountOf: () => HOST_ROOT,
  inUserNamespace: () => false,
};

const LAYOUT: CgroupLayout = {
  kind: 'hybrid',
  v1: new Map([['memory', '/cg/memory'], ['pids', '/cg/pids']]),
  v2: '/cg/unified',
};

const CGROUP = { kind: 'hybrid' as const, v1: { memory: '/cg/memory/c', pids: '/cg/pids/c' } };

/** A config as `hako spec` writes it, with what podman adds: binds, limits, more env. */
function rehearsalSpec(rootless: boolean): Spec {
  const spec = defaultSpec({ rootless });
  const proc = spec.process;
  if (proc) Object.assign(proc, { args: ['true'], terminal: false, env: [...proc.env ?? [], 'A=b'] });
  spec.mounts = [
    ...(spec.mounts ?? []),
    { destination: '/etc/hosts', type: 'bind', source: '/b/hosts', options: ['rbind', 'ro'] },
  ];
  spec.linux = {
    ...spec.linux,
    resources: { ...spec.linux?.resources, memory: { limit: 1 << 26 }, pids: { limit: 100 } },
  };
  return validateSpec(JSON.parse(JSON.stringify(spec)), 'rehearsal');
}

export async function rehearse(): Promise<void> {
  for (const rootless of [false, true]) {
    const spec = rehearsalSpec(rootless);
    planNamespaces(spec);
    withDefaultDevices(spec.linux?.resources, spec.linux?.devices);
    const sys = new RecordingSys();
    sys.stats.set('/proc/sys', statDir()).set('/proc/kcore', statFile(0o400))
      .set('/usr/bin/true', statFile());
    await setupRootfs(sys, spec, {
      bundle: '/b', host: REHEARSAL_HOST, cgroupLayout: LAYOUT, cgroup: CGROUP,
    });
    await prepareProcess(sys, spec, { lastCap: 40, home: '/root' });
  }
  formatLogLine('json', 'error', 'rehearsal', new Date(0));
  formatLogLine('text', 'debug', 'rehearsal', new Date(0));
}
