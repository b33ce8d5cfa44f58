/**
 * The few libseccomp entry points the compiler needs, bound with koffi on first use.
 *
 * Loading is deferred because most hako commands (state, kill, delete, ps) never compile a
 * filter, and koffi plus libseccomp cost a few milliseconds of every start. koffi is reached
 * through `distRequire` rather than a static import for the same reason: an ES import is
 * evaluated when this module is, a require only when `loadLibseccomp` runs.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { TypeObject } from 'koffi';
import { distRequire } from '../dist.js';
import { HakoError } from '../errors.js';

type Koffi = typeof import('koffi');
type TypeSpec = string | TypeObject;

/** One comparison of a rule, as struct scmp_arg_cmp wants it. */
export interface ArgCmp {
  arg: number;
  op: number;
  datumA: bigint;
  datumB: bigint;
}

/** An open scmp_filter_ctx. Methods return libseccomp's result: 0 or a negated errno. */
export interface Filter {
  archAdd(arch: number): number;
  attrSet(attr: number, value: number): number;
  ruleAdd(action: number, syscall: number, args: readonly ArgCmp[]): number;
  /** The filter as a struct sock_filter array, in the host's byte order. */
  exportBpf(): Uint8Array;
  release(): void;
}

export interface Libseccomp {
  /** "2.5.4". */
  readonly version: string;
  /** seccomp_api_get(): what this library and the running kernel support together. */
  readonly apiLevel: number;
  /** The SCMP_ARCH_* token for a libseccomp arch name ("x86_64"), 0 when unknown. */
  archResolve(name: string): number;
  /** The syscall number for the native arch, a negative pseudo number for a syscall only
   * other arches have, or NR_SCMP_ERROR when libseccomp does not know the name. */
  syscallResolve(name: string): number;
  /** seccomp_init; null when libseccomp refuses the default action. */
  init(defaultAction: number): Filter | null;
}

export const NR_SCMP_ERROR = -1;

const SONAME = 'libseccomp.so.2';
const MFD_CLOEXEC = 1;
const ARG_CMP_SIZE = 24;

let loaded: Libseccomp | undefined;

/** Loads koffi and libseccomp once; later calls return the same bindings. */
export function loadLibseccomp(): Libseccomp {
  loaded ??= bind();
  return loaded;
}

function bind(): Libseccomp {
  const koffi = distRequire()('koffi') as Koffi;
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(SONAME);
  } catch {
    throw new HakoError(`seccomp: cannot load ${SONAME} (install libseccomp2)`);
  }
  const libc = koffi.load('libc.so.6');
  const func = (name: string, result: TypeSpec, args: TypeSpec[]) => {
    try {
      return lib.func(name, result, args);
    } catch {
      throw new HakoError(`seccomp: ${SONAME} has no ${name} (libseccomp 2.5 or newer is needed)`);
    }
  };

  const versionType = koffi.struct({ major: 'uint', minor: 'uint', micro: 'uint' });
  const seccompVersion = func('seccomp_version', koffi.pointer(versionType), []);
  const apiGet = func('seccomp_api_get', 'uint', []);
  const archResolve = func('seccomp_arch_resolve_name', 'uint32', ['str']);
  const syscallResolve = func('seccomp_syscall_resolve_name', 'int', ['str']);
  const init = func('seccomp_init', 'void *', ['uint32']);
  const release = func('seccomp_release', 'void', ['void *']);
  const archAdd = func('seccomp_arch_add', 'int', ['void *', 'uint32']);
  const attrSet = func('seccomp_attr_set', 'int', ['void *', 'int', 'uint32']);
  const ruleAddArray = func('seccomp_rule_add_array', 'int', [
    'void *',
    'uint32',
    'int',
    'uint',
    'void *',
  ]);
  const exportBpf = func('seccomp_export_bpf', 'int', ['void *', 'int']);
  const memfdCreate = libc.func('memfd_create', 'int', ['str', 'uint']);

  const v = koffi.decode(seccompVersion(), versionType) as Record<string, number>;
  const littleEndian = endianness() === 'LE';

  function exportProgram(ctx: unknown): Uint8Array {
    // seccomp_export_bpf_mem would skip the descriptor but only exists from libseccomp 2.6;
    // a memfd works with every version (one path to test), keeps the bytes off the
    // filesystem and, unlike a pipe, cannot fill up and block the export.
    const fd = memfdCreate('hako-seccomp', MFD_CLOEXEC) as number;
    if (fd < 0) {
      throw new HakoError(`seccomp: memfd_create: ${errnoName(-koffi.errno())}`);
    }
    try {
      const rc = exportBpf(ctx, fd) as number;
      if (rc < 0) throw new HakoError(`seccomp: seccomp_export_bpf: ${errnoName(rc)}`);
      const program = new Uint8Array(fstatSync(fd).size);
      let done = 0;
      while (done < program.length) {
        const n = readSync(fd, program, done, program.length - done, done);
        if (n === 0) break;
        done += n;
      }
      return program.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  }

  function filter(ctx: unknown): Filter {
    return {
      archAdd: (arch) => archAdd(ctx, arch) as number,
      attrSet: (attr, value) => attrSet(ctx, attr, value) as number,
      ruleAdd: (action, syscall, args) => {
        const buf = encodeArgs(args, littleEndian);
        return ruleAddArray(ctx, action, syscall, args.length, buf) as number;
      },
      exportBpf: () => exportProgram(ctx),
      release: () => release(ctx),
    };
  }

  return {
    version: `${v.major}.${v.minor}.${v.micro}`,
    apiLevel: apiGet() as number,
    archResolve: (name) => archResolve(name) as number,
    syscallResolve: (name) => syscallResolve(name) as number,
    init: (defaultAction) => {
      const ctx: unknown = init(defaultAction);
      return ctx === null ? null : filter(ctx);
    },
  };
}

/** struct scmp_arg_cmp[]: u32 arg, u32 op, u64 datum_a, u64 datum_b; 24 bytes each. */
function encodeArgs(args: readonly ArgCmp[], littleEndian: boolean): Buffer | null {
  if (args.length === 0) return null;
  const buf = Buffer.alloc(args.length * ARG_CMP_SIZE);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  args.forEach((a, i) => {
    const at = i * ARG_CMP_SIZE;
    view.setUint32(at, a.arg, littleEndian);
    view.setUint32(at + 4, a.op, littleEndian);
    view.setBigUint64(at + 8, a.datumA, littleEndian);
    view.setBigUint64(at + 16, a.datumB, littleEndian);
  });
  return buf;
}

/** "EINVAL" for a libseccomp result of -22. */
export function errnoName(rc: number): string {
  try {
    return getSystemErrorName(rc);
  } catch {
    return `error ${-rc}`;
  }
}
