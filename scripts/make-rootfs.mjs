// Makes a minimal root filesystem from Debian's busybox-static: one static binary, its applet
// links, and the few files in /etc that programs look for. Used by the examples and the tests.
import { execFileSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function findBusybox() {
  for (const path of BUSYBOX_CANDIDATES) {
    if (!existsSync(path)) continue;
    // A dynamically linked busybox would need the host's libc inside the rootfs.
    if (!hasInterpreter(readFileSync(path))) return path;
  }
  throw new Error('busybox-static is needed for the example rootfs: apt-get install busybox-static');
}

/** Whether an ELF64 file names a program interpreter (PT_INTERP): then it is not static. */
function hasInterpreter(elf) {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const entrySize = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) {
    if (elf.readUInt32LE(phoff + i * entrySize) === 3) return true;
  }
  return false;
}

/** Builds the rootfs in `dir` (created if missing) and returns `dir`. */
export function makeRootfs(dir) {
  const busybox = findBusybox();
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n');
  for (const applet of applets) {
    if (!applet || applet === 'busybox' || existsSync(join(dir, 'bin', applet))) continue;
    symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' +
    'user:x:1000:1000:user:/tmp:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\nuser:x:1000:\n');
  writeFileSync(join(dir, 'etc/hostname'), 'hako\n');
  chmodSync(join(dir, 'tmp'), 0o1777);
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (!process.argv[2]) {
    console.error('usage: node scripts/make-rootfs.mjs <dir>');
    process.exit(2);
  }
  makeRootfs(process.argv[2]);
}
