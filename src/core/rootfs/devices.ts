/**
 * The device nodes and /dev symlinks every container has, then `linux.devices`; skipped
 * when the spec binds a /dev over the container's. In a user namespace mknod(2) is refused,
 * so each node is the host's device bound onto an empty file, as runc does.
 */
import { posix } from 'node:path';

import { HakoError } from '../errors.js';
import { DEVICE_TYPES, MS_BIND } from '../spec/linux.js';
import type { LinuxDevice } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import { Resolve } from '../sys/sys.js';
import { type RootfsState, cleanPath } from './context.js';
import { bindsDev, isBind } from './mounts.js';

/** The devices runc gives every container (its AllowedDevices with a path), in its order. */
export const DEFAULT_DEVICES: readonly LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
].map((d) => ({ ...d, fileMode: 0o666, uid: 0, gid: 0 }));

const DEV_SYMLINKS: readonly [link: string, target: string][] = [
  ['/dev/fd', '/proc/self/fd'],
  ['/dev/stdin', '/proc/self/fd/0'],
  ['/dev/stdout', '/proc/self/fd/1'],
  ['/dev/stderr', '/proc/self/fd/2'],
];

export async function createDevices(state: RootfsState): Promise<void> {
  const mounts = state.spec.mounts ?? [];
  if (bindsDev(mounts)) return;

  // A /dev filesystem mounted by the spec starts empty, so nothing made there can collide.
  // Anywhere else the image may already hold the node: it is left as it is (runc ignores
  // EEXIST; the agent's failures are final, so the path is looked at first).
  const freshDev = mounts.some((m) => cleanPath(m.destination) === '/dev' && !isBind(m));
  const mustCheck = (path: string) => !(freshDev && path.startsWith('/dev/'));
  const knownDirs = new Set(mounts.filter((m) => !isBind(m)).map((m) => cleanPath(m.destination)));

  for (const device of deviceList(state)) {
    const path = cleanPath(device.path);
    if (mustCheck(path) && await exists(state, path)) continue;
    const parent = posix.dirname(path);
    if (!knownDirs.has(parent)) {
      await sysStep(`mkdir ${parent}`, state.sys.mkdirAll(parent, 0o755, Resolve.InRoot));
      knownDirs.add(parent);
    }
    if (state.userns) await bindDevice(state, path);
    else await makeDevice(state, path, device);
  }

  // The container's ptmx must be its own devpts instance's, not the host's.
  await link(state, '/dev/ptmx', 'pts/ptmx', mustCheck('/dev/ptmx'));
  const links = [...DEV_SYMLINKS];
  if (state.host.exists('/proc/kcore')) links.push(['/dev/core', '/proc/kcore']);
  for (const [path, target] of links) await link(state, path, target, mustCheck(path));
}

/** The defaults a spec device does not replace, then the spec's devices; /dev/ptmx is a link. */
function deviceList(state: RootfsState): LinuxDevice[] {
  const specDevices = state.spec.linux?.devices ?? [];
  const specPaths = new Set(specDevices.map((d) => cleanPath(d.path)));
  const seen = new Set<string>(['/dev/ptmx']);
  const list: LinuxDevice[] = [];
  for (const device of [...DEFAULT_DEVICES.filter((d) => !specPaths.has(d.path)), ...specDevices]) {
    const path = cleanPath(device.path);
    if (seen.has(path)) continue;
    seen.add(path);
    list.push(device);
  }
  return list;
}

async function makeDevice(state: RootfsState, path: string, device: LinuxDevice): Promise<void> {
  const type = DEVICE_TYPES[device.type];
  if (type === undefined) {
    throw new HakoError(`config.json: linux.devices: ${path}: unknown type "${device.type}"`);
  }
  const perm = (device.fileMode ?? 0o666) & 0o7777;
  const { sys } = state;
  await sysStep(`mknod ${path}`,
    sys.mknod(path, type | perm, device.major ?? 0, device.minor ?? 0, Resolve.InRoot));
  // mknod(2) applies the agent's umask.
  await sysStep(`chmod ${path}`, sys.chmod(path, perm, Resolve.InRoot));
  // The agent is root, so a new node is already 0:0.
  const uid = device.uid ?? 0;
  const gid = device.gid ?? 0;
  if (uid !== 0 || gid !== 0) {
    await sysStep(`chown ${path}`, sys.chown(path, uid, gid, Resolve.InRoot));
  }
}

async function bindDevice(state: RootfsState, path: string): Promise<void> {
  const { sys } = state;
  const label = `bind the host's ${path}`;
  await sysStep(`${label}: create the mount point`, sys.createFile(path, 0, Resolve.InRoot));
  await sysStep(label, sys.mount(path, path, 'bind', MS_BIND, '', Resolve.InRoot));
}

async function link(state: RootfsState, path: string, target: string, check: boolean) {
  if (check && await exists(state, path)) return;
  await sysStep(`symlink ${path} -> ${target}`, state.sys.symlink(target, path, Resolve.InRoot));
}

/**
 * Whether something is at `path`. stat follows links, and /dev/stdin's target is a magic link
 * the agent will not follow: any answer but "no such file" counts as present.
 */
async function exists(state: RootfsState, path: string): Promise<boolean> {
  try {
    return (await state.sys.stat(path, Resolve.InRoot)) !== null;
  } catch {
    return true;
  }
}
