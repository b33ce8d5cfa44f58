/**
 * mountRootfs + enterRootfs, the two halves a wasm container runs in two processes (agent,
 * then engine), make exactly the calls setupRootfs makes in one.
 */
import { describe, expect, it } from 'vitest';

import type { HostMount, HostView } from '../../src/core/rootfs/host.js';
import { enterRootfs, mountRootfs, setupRootfs } from '../../src/core/rootfs/index.js';
import { MS_NODEV, MS_NOSUID, MS_RELATIME } from '../../src/core/spec/linux.js';
import { defaultSpec } from '../../src/core/spec/template.js';
import type { Spec } from '../../src/core/spec/types.js';
import { RecordingSys, statDir, statFile } from '../../src/core/sys/recording.js';

const host: HostView = {
  fileType: () => 'directory',
  realpath: (path) => path,
  exists: () => false,
  mountOf: (): HostMount => ({ mountPoint: '/', fstype: 'ext4', flags: MS_NOSUID | MS_NODEV
    | MS_RELATIME }),
  inUserNamespace: () => false,
};

function recorder(): RecordingSys {
  const sys = new RecordingSys();
  sys.stats.set('/proc/sys', statDir()).set('/proc/acpi', statDir())
    .set('/proc/kcore', statFile(0o400)).set('/etc/hosts', statFile(0o644));
  return sys;
}

function spec(): Spec {
  const s = defaultSpec({ rootless: true });
  s.root = { path: 'rootfs', readonly: true };
  s.hostname = 'split';
  s.linux!.readonlyPaths = [...(s.linux!.readonlyPaths ?? []), '/etc/hosts'];
  s.mounts!.push({ destination: '/data', type: 'bind', source: '/srv', options: ['ro'] });
  return s;
}

describe('the rootfs setup split at pivot_root', () => {
  for (const noPivot of [false, true]) {
    it(`makes the same calls as setupRootfs${noPivot ? ' (--no-pivot)' : ''}`, async () => {
      const whole = recorder();
      await setupRootfs(whole, spec(), { bundle: '/b', host, noPivot });

      const before = recorder();
      const handoff = await mountRootfs(before, spec(), { bundle: '/b', host, noPivot });
      // The handoff crosses an exec as JSON.
      const after = recorder();
      await enterRootfs(after, spec(), JSON.parse(JSON.stringify(handoff)));

      expect([...before.calls, ...after.calls]).toEqual(whole.calls);
      expect(after.calls[0]).toBe(noPivot ? 'chrootMove /b/rootfs' : 'pivotRoot /b/rootfs');
      expect(before.calls.some((c) => c.startsWith('pivotRoot') || c.startsWith('chroot')))
        .toBe(false);
    });
  }

  it('hands over the rootfs, the user namespace and the flags of each mount', async () => {
    const handoff = await mountRootfs(recorder(), spec(), { bundle: '/b', host });
    expect(handoff.rootfs).toBe('/b/rootfs');
    expect(handoff.userns).toBe(true);
    expect(handoff.noPivot).toBe(false);
    expect(handoff.mounted[0]).toEqual({ destination: '/', flags: MS_NOSUID | MS_NODEV
      | MS_RELATIME });
    expect(handoff.mounted.map((m) => m.destination)).toContain('/data');
  });
});
