/**
 * `features`: the runtime-spec's features document (features.md, features-linux.md), which
 * containerd reads to decide what it may ask for (user namespaces need `user` and idmap
 * mounts, `rro` turns on recursive read-only mounts). Every entry states what hako does,
 * not what the spec or the kernel knows: a caller that trusts a claim here must not get an
 * error from `create` later.
 */
import { HANDLER_ANNOTATION, VARIANT_ANNOTATION } from '../../handlers/wasm/select.js';
import { findWasmtime } from '../../handlers/wasm/wasmtime.js';
import { libseccompVersion, type SeccompFeatures, seccompFeatures } from '../seccomp/index.js';
import { CAPABILITIES, NAMESPACES } from '../spec/linux.js';
import { isKnownMountOption } from '../spec/mount-options.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: SeccompFeatures;
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
  potentiallyUnsafeConfigAnnotations: string[];
}

/** The annotation naming the handlers this installation can run a workload with. */
export const HANDLERS_ANNOTATION = 'io.hako.handlers';

/** Every hook the spec defines; hako runs all of them, including the deprecated prestart. */
const HOOKS = [
  'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop',
];

/*
 * The mount options that reach mount(2) as flags or propagation changes, and tmpcopyup. The
 * parser also knows the recursive forms (rro, rnosuid, ...) and idmap/ridmap, but the rootfs
 * setup refuses them, so they are not offered: containerd would otherwise ask for `rro`.
 */
const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion',
  'lazytime', 'loud', 'mand', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion',
  'nolazytime', 'nomand', 'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow',
  'notmpcopyup', 'private', 'rbind', 'relatime', 'remount', 'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw',
  'shared', 'silent', 'slave', 'strictatime', 'suid', 'symfollow', 'sync', 'tmpcopyup',
  'unbindable',
];

export interface FeaturesOptions {
  /** Handlers that can run workloads here, in the order `select` considers them. */
  handlers: readonly string[];
  /** For tests: the seccomp part and the libseccomp version, instead of loading libseccomp. */
  seccomp?: SeccompFeatures;
  libseccompVersion?: string;
}

export function hakoFeatures(opts: FeaturesOptions): Features {
  const seccomp = opts.seccomp ?? seccompFeatures();
  const version = opts.seccomp !== undefined ? opts.libseccompVersion : libseccompVersion();

  const annotations: Record<string, string> = {};
  if (version !== undefined) annotations['io.github.seccomp.libseccomp.version'] = version;
  annotations[HANDLERS_ANNOTATION] = opts.handlers.join(',');

  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: [...HOOKS],
    mountOptions: MOUNT_OPTIONS.filter(isKnownMountOption),
    linux: {
      namespaces: Object.keys(NAMESPACES).sort(),
      // In capability number order, as runc lists them.
      capabilities: Object.entries(CAPABILITIES)
        .sort(([, a], [, b]) => a - b)
        .map(([name]) => name),
      // No systemd driver: --systemd-cgroup is accepted but not implemented.
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp,
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations,
    // Annotations that choose how the workload runs (a wasm engine instead of execve).
    potentiallyUnsafeConfigAnnotations: [HANDLER_ANNOTATION, VARIANT_ANNOTATION],
  };
}

/** The built-in handlers: linux and wasm always, wasmtime when its CLI is on PATH. */
export function builtinHandlers(path: string | undefined): string[] {
  const handlers = ['linux', 'wasm'];
  if (findWasmtime(path) !== null) handlers.push('wasmtime');
  return handlers;
}
