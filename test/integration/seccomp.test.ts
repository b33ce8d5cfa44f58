// Installs filters compiled by compileSeccomp in a real process and watches the kernel apply
// them. Until the agent installs filters itself, a small C loader stands in for it: it reads
// the program, sets NO_NEW_PRIVS, calls seccomp(2) with the returned flags and execs busybox.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSeccomp } from '../../src/core/seccomp/index.js';
import type { LinuxSeccomp, LinuxSyscall } from '../../src/core/spec/types.js';

const BUSYBOX = '/bin/busybox';
const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';

const LOADER_C = `
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* load-seccomp <program file> <seccomp(2) flags> <path> [args...] */
int main(int argc, char **argv) {
  static struct sock_filter insns[BPF_MAXINSNS + 1];
  if (argc < 4) {
    fprintf(stderr, "usage: load-seccomp program flags path [args...]\\n");
    return 125;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror("open program"); return 125; }
  size_t n = fread(insns, 1, sizeof insns, f);
  fclose(f);
  if (n == 0 || n % sizeof insns[0] || n / sizeof insns[0] > BPF_MAXINSNS) {
    fprintf(stderr, "bad program size %zu\\n", n);
    return 125;
  }
  struct sock_fprog prog = { .len = n / sizeof insns[0], .filter = insns };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("prctl"); return 125; }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, strtoul(argv[2], NULL, 0), &prog)) {
    perror("seccomp");
    return 125;
  }
  execv(argv[3], argv + 3);
  perror("execv");
  return 125;
}
`;

let dir = '';
let loader = '';

beforeAll(() => {
  expect(existsSync(BUSYBOX), `${BUSYBOX} (busybox-static) is needed`).toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'hako-seccomp-'));
  loader = join(dir, 'load-seccomp');
  writeFileSync(join(dir, 'load-seccomp.c'), LOADER_C);
  const cc = spawnSync('gcc', ['-O2', '-o', loader, join(dir, 'load-seccomp.c')], {
    encoding: 'utf8',
  });
  expect(cc.status, `gcc: ${cc.stderr}`).toBe(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let runs = 0;

/** Runs busybox with the compiled filter installed. */
function runUnder(seccomp: LinuxSeccomp, ...args: string[]) {
  const { program, flags } = compileSeccomp(seccomp);
  const file = join(dir, `program-${runs++}.bpf`);
  writeFileSync(file, program);
  const r = spawnSync(loader, [file, String(flags), BUSYBOX, ...args], { encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
}

const allowAll: LinuxSeccomp = { defaultAction: 'SCMP_ACT_ALLOW' };

describe('compiled seccomp filters on a real kernel', () => {
  it('lets everything through an allow-all filter', () => {
    const target = join(dir, 'allowed');
    const r = runUnder(allowAll, 'mkdir', target);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(target).isDirectory()).toBe(true);
  });

  it('denies mkdir with the errnoRet of the rule', () => {
    const target = join(dir, 'denied');
    const deny: LinuxSyscall = {
      names: ['mkdir', 'mkdirat'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    };
    const r = runUnder({ ...allowAll, syscalls: [deny] }, 'mkdir', target);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Function not implemented/);
    expect(existsSync(target)).toBe(false);
  });

  it('matches argument comparisons, splitting repeated arguments into ORed rules', () => {
    const file = join(dir, 'file');
    writeFileSync(file, '');
    // chmod(path, mode) and fchmodat(dirfd, path, mode): the mode is argument 1 or 2.
    const onMode = (action: Omit<LinuxSyscall, 'names' | 'args'>, ...conds: [string, number][]) =>
      (
        [
          ['chmod', 1],
          ['fchmodat', 2],
        ] as const
      ).map(([name, index]) => ({
        ...action,
        names: [name],
        args: conds.map(([op, value]) => ({ index, value, valueTwo: value, op })),
      }));
    const syscalls = [
      ...onMode({ action: 'SCMP_ACT_ERRNO', errnoRet: 13 }, ['SCMP_CMP_EQ', 0o700]),
      // MASKED_EQ: value is the mask, valueTwo the expected result; errnoRet defaults to EPERM.
      ...onMode({ action: 'SCMP_ACT_ERRNO' }, ['SCMP_CMP_MASKED_EQ', 0o002]),
      ...onMode({ action: 'SCMP_ACT_ERRNO', errnoRet: 5 }, ['SCMP_CMP_EQ', 0o600], [
        'SCMP_CMP_EQ',
        0o640,
      ]),
    ];
    const chmod = (mode: string) => runUnder({ ...allowAll, syscalls }, 'chmod', mode, file);

    expect(chmod('700').stderr).toMatch(/Permission denied/);
    expect(chmod('777').stderr).toMatch(/Operation not permitted/);
    expect(chmod('600').stderr).toMatch(/Input\/output error/);
    expect(chmod('640').stderr).toMatch(/Input\/output error/);
    const allowed = chmod('751');
    expect(allowed.stderr).toBe('');
    expect(allowed.status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o751);
  });

  it('kills the process with SIGSYS for SCMP_ACT_KILL_PROCESS', () => {
    const kill = { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' };
    const r = runUnder({ ...allowAll, syscalls: [kill] }, 'mkdir', join(dir, 'killed'));
    expect(r.signal).toBe('SIGSYS');
  });

  it('returns flags the kernel accepts', () => {
    const flags = [
      'SECCOMP_FILTER_FLAG_TSYNC',
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
    ];
    const deny = { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' };
    const r = runUnder({ ...allowAll, flags, syscalls: [deny] }, 'echo', 'flags ok');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('flags ok\n');
  });

  it("enforces podman's default profile as podman would hand it over", () => {
    expect(existsSync(PODMAN_PROFILE), `${PODMAN_PROFILE} (containers-common)`).toBe(true);
    const profile = fromContainersProfile(readFileSync(PODMAN_PROFILE, 'utf8'));

    const ok = runUnder(profile, 'sh', '-c', 'echo ok');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('ok\n');
    // Root could chroot, but the profile allows it only with CAP_SYS_CHROOT listed.
    const chroot = runUnder(profile, 'chroot', '/', BUSYBOX, 'true');
    expect(chroot.stderr).toMatch(/Operation not permitted/);
    expect(chroot.status).not.toBe(0);
  });
});

interface ContainersRule extends LinuxSyscall {
  includes?: { caps?: string[]; arches?: string[] };
  excludes?: { caps?: string[]; arches?: string[] };
}

/**
 * Turns containers-common's profile into the runtime-spec object podman writes into
 * config.json, for this machine's ABI and a process with no capabilities: rules are kept or
 * dropped by their includes/excludes, and the architectures come from the archMap.
 */
function fromContainersProfile(text: string): LinuxSeccomp {
  const raw = JSON.parse(text) as Omit<LinuxSeccomp, 'syscalls'> & {
    archMap: { architecture: string; subArchitectures: string[] }[];
    syscalls: ContainersRule[];
  };
  const [goArch, scmpArch] =
    process.arch === 'arm64' ? ['arm64', 'SCMP_ARCH_AARCH64'] : ['amd64', 'SCMP_ARCH_X86_64'];
  const caps = new Set<string>();
  const arch = raw.archMap.find((a) => a.architecture === scmpArch);
  const kept = raw.syscalls.filter((rule) => {
    const inc = rule.includes ?? {};
    const exc = rule.excludes ?? {};
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
    if (inc.arches?.length && !inc.arches.includes(goArch)) return false;
    if (exc.caps?.some((c) => caps.has(c))) return false;
    return !exc.arches?.includes(goArch);
  });
  return {
    defaultAction: raw.defaultAction,
    defaultErrnoRet: raw.defaultErrnoRet,
    architectures: arch ? [arch.architecture, ...arch.subArchitectures] : [],
    syscalls: kept.map(({ names, action, errnoRet, args }) => ({
      names,
      action,
      errnoRet: errnoRet ?? undefined,
      args: args ?? undefined,
    })),
  };
}
