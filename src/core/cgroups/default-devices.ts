/**
 * The device cgroup rules a container gets besides its own, as runc gives them: mknod of any
 * node (using one still needs an allow rule), the devices every container has (null, zero,
 * full, random, urandom, tty, console, ptmx, the ptys, tun), and the config's linux.devices.
 * Without them a config that starts with "deny all", as runc's default spec does, could not
 * even create /dev/null.
 */
import type { LinuxDevice, LinuxDeviceCgroup, LinuxResources } from '../spec/types.js';

const ALWAYS_ALLOWED: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' }, // pts/*
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // net/tun
];

/** The resources to apply: the config's own, then the rules every container needs. */
export function withDefaultDevices(
  resources: LinuxResources | undefined,
  devices: LinuxDevice[] | undefined,
): LinuxResources {
  const own = resources?.devices ?? [];
  const configured: LinuxDeviceCgroup[] = (devices ?? [])
    .filter((d) => d.type !== 'p')
    .map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' }));
  return { ...resources, devices: [...own, ...ALWAYS_ALLOWED, ...configured] };
}
