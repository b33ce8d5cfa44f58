import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { builtinHandlers, hakoFeatures } from '../../src/core/lifecycle/features.js';
import { CAPABILITIES } from '../../src/core/spec/linux.js';
import { isKnownMountOption, parseMountOptions } from '../../src/core/spec/mount-options.js';

const SECCOMP = { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'] };

describe('hakoFeatures', () => {
  const features = hakoFeatures({
    handlers: ['linux', 'wasm'], seccomp: SECCOMP, libseccompVersion: '2.5.4',
  });

  it('has the runtime-spec fields in runc\'s order', () => {
    expect(Object.keys(features)).toEqual([
      'ociVersionMin', 'ociVersionMax', 'hooks', 'mountOptions', 'linux', 'annotations',
      'potentiallyUnsafeConfigAnnotations',
    ]);
    expect(Object.keys(features.linux)).toEqual([
      'namespaces', 'capabilities', 'cgroup', 'seccomp', 'apparmor', 'selinux', 'intelRdt',
      'mountExtensions',
    ]);
    expect(features.ociVersionMin).toBe('1.0.0');
    expect(features.ociVersionMax).toBe('1.2.0');
  });

  it('lists every hook and all eight namespaces', () => {
    expect(features.hooks).toEqual([
      'prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop',
    ]);
    expect(features.linux.namespaces).toEqual([
      'cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts',
    ]);
  });

  it('lists every capability hako knows, in number order', () => {
    expect(features.linux.capabilities).toHaveLength(Object.keys(CAPABILITIES).length);
    expect(features.linux.capabilities[0]).toBe('CAP_CHOWN');
    expect(features.linux.capabilities.at(-1)).toBe('CAP_CHECKPOINT_RESTORE');
  });

  it('offers mount options that become flags or propagation, and tmpcopyup, sorted', () => {
    const options = features.mountOptions;
    expect(options).toEqual([...options].sort());
    for (const option of options) {
      expect(isKnownMountOption(option), option).toBe(true);
      if (option.endsWith('tmpcopyup')) continue;
      const parsed = parseMountOptions([option]);
      expect(parsed.data, option).toEqual([]);
      expect(parsed.recursiveAttrs, option).toEqual({ attrSet: 0, attrClr: 0 });
      expect(Object.values(parsed.extensions), option).toEqual([false, false, false]);
    }
    for (const wanted of ['ro', 'rw', 'bind', 'rbind', 'rprivate', 'nosuid', 'defaults']) {
      expect(options).toContain(wanted);
    }
    // Refused by the rootfs setup, so containerd must not be told they work.
    expect(options).toContain('tmpcopyup');
    for (const refused of ['rro', 'rnosuid', 'idmap', 'ridmap']) {
      expect(options).not.toContain(refused);
    }
  });

  it('states the cgroup, LSM and mount extension support plainly', () => {
    expect(features.linux.cgroup).toEqual({
      v1: true, v2: true, systemd: false, systemdUser: false, rdma: true,
    });
    expect(features.linux.seccomp).toEqual(SECCOMP);
    expect(features.linux.apparmor).toEqual({ enabled: false });
    expect(features.linux.selinux).toEqual({ enabled: false });
    expect(features.linux.intelRdt).toEqual({ enabled: false });
    expect(features.linux.mountExtensions).toEqual({ idmap: { enabled: false } });
  });

  it('annotates the libseccomp version and the handlers', () => {
    expect(features.annotations).toEqual({
      'io.github.seccomp.libseccomp.version': '2.5.4',
      'io.hako.handlers': 'linux,wasm',
    });
    expect(features.potentiallyUnsafeConfigAnnotations)
      .toEqual(['run.oci.handler', 'module.wasm.image/variant']);
  });

  it('leaves the libseccomp version out when it is unknown', () => {
    const f = hakoFeatures({ handlers: ['linux'], seccomp: { enabled: false } });
    expect(f.annotations).toEqual({ 'io.hako.handlers': 'linux' });
    expect(f.linux.seccomp).toEqual({ enabled: false });
  });
});

describe('builtinHandlers', () => {
  it('adds wasmtime only when an executable wasmtime is on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hako-features-'));
    try {
      expect(builtinHandlers(`${dir}:relative`)).toEqual(['linux', 'wasm']);
      writeFileSync(join(dir, 'wasmtime'), '#!/bin/sh\n', { mode: 0o755 });
      expect(builtinHandlers(`${dir}`)).toEqual(['linux', 'wasm', 'wasmtime']);
      expect(builtinHandlers(undefined)).toEqual(['linux', 'wasm']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
