/**
 * What `hako features` reports under `linux.seccomp`, in the shape runc prints.
 *
 * The lists are derived from the compiler's own tables filtered by what the installed
 * libseccomp and the running kernel accept, so a profile that uses only listed names
 * compiles here.
 */
import { HakoError } from '../errors.js';
import { loadLibseccomp } from './libseccomp.js';
import type { Libseccomp } from './libseccomp.js';
import { ACTIONS, ARCHITECTURES, FLAGS, libseccompArchName, OPERATORS } from './names.js';

export interface SeccompFeatures {
  /** False when libseccomp cannot be loaded; the lists are then absent. */
  enabled: boolean;
  actions?: string[];
  operators?: string[];
  archs?: string[];
  /** Every flag hako recognizes in `linux.seccomp.flags`. */
  knownFlags?: string[];
  /** The known flags this libseccomp and kernel support. */
  supportedFlags?: string[];
}

export function seccompFeatures(): SeccompFeatures {
  const lib = tryLoad();
  if (lib === null) return { enabled: false };

  const actions = [...ACTIONS].filter(([, a]) => a.minApi <= lib.apiLevel).map(([n]) => n);
  const archs = ARCHITECTURES.filter((a) => lib.archResolve(libseccompArchName(a)) !== 0);
  const flags = [...FLAGS];
  return {
    enabled: true,
    actions: actions.sort(),
    operators: [...OPERATORS.keys()].sort(),
    archs: [...archs].sort(),
    knownFlags: flags.map(([n]) => n).sort(),
    supportedFlags: flags
      .filter(([, f]) => f.minApi <= lib.apiLevel)
      .map(([n]) => n)
      .sort(),
  };
}

/**
 * The installed libseccomp's version ("2.5.4"), for the features annotation runc names
 * `io.github.seccomp.libseccomp.version`; undefined when it cannot be loaded.
 */
export function libseccompVersion(): string | undefined {
  return tryLoad()?.version;
}

function tryLoad(): Libseccomp | null {
  try {
    return loadLibseccomp();
  } catch (e) {
    if (e instanceof HakoError) return null;
    throw e;
  }
}
