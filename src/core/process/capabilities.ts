/**
 * process.capabilities as masks, and the two halves of applying them: the bounding set is cut
 * while the init is still fully privileged, the other sets are set after the user change.
 */
import {
  CAPABILITIES, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capMask,
} from '../spec/linux.js';
import type { LinuxCapabilities } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import type { Sys } from '../sys/sys.js';

export interface CapabilitySets {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/**
 * The masks, limited to the capabilities the running kernel knows (`lastCap`): a bit past it
 * makes capset(2) fail, and runc drops such names with a warning. No `capabilities` at all
 * means none, as in runc.
 */
export function capabilitySets(
  caps: LinuxCapabilities | undefined,
  lastCap: number,
): CapabilitySets {
  const known = (1n << BigInt(lastCap + 1)) - 1n;
  const mask = (names: string[] | undefined) => capMask(names ?? []) & known;
  return {
    bounding: mask(caps?.bounding),
    effective: mask(caps?.effective),
    permitted: mask(caps?.permitted),
    inheritable: mask(caps?.inheritable),
    ambient: mask(caps?.ambient),
  };
}

/** PR_CAPBSET_DROP for every capability up to `lastCap` that the bounding set leaves out. */
export async function dropBoundingSet(sys: Sys, sets: CapabilitySets, lastCap: number) {
  for (let cap = 0; cap <= lastCap; cap++) {
    if (has(sets.bounding, cap)) continue;
    await sysStep(`drop ${capName(cap)} from the bounding set`,
      sys.prctl(PR_CAPBSET_DROP, BigInt(cap)));
  }
}

/**
 * capset(2), then each ambient capability raised. The kernel raises only one that is both
 * permitted and inheritable; runc tries the others too and only warns when they fail (runc's
 * own default spec asks for ambient capabilities it does not make inheritable). A failed
 * request would end the agent, so those are not sent: `warn` hears about them instead.
 */
export async function applyCapabilities(
  sys: Sys,
  sets: CapabilitySets,
  warn: (message: string) => void,
): Promise<void> {
  const { effective, permitted, inheritable } = sets;
  const masks = `effective 0x${effective.toString(16)}, permitted 0x${permitted.toString(16)}`
    + `, inheritable 0x${inheritable.toString(16)}`;
  await sysStep(`capset (${masks})`, sys.capset(effective, permitted, inheritable));
  for (const cap of capsIn(sets.ambient)) {
    if (!has(permitted & inheritable, cap)) {
      warn(`can't raise ambient capability ${capName(cap)}: it is not permitted and inheritable`);
      continue;
    }
    await sysStep(`raise ${capName(cap)} in the ambient set`,
      sys.prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_RAISE), BigInt(cap)));
  }
}

function capsIn(mask: bigint): number[] {
  const caps: number[] = [];
  for (let cap = 0; mask >> BigInt(cap) !== 0n; cap++) if (has(mask, cap)) caps.push(cap);
  return caps;
}

function has(mask: bigint, cap: number): boolean {
  return ((mask >> BigInt(cap)) & 1n) === 1n;
}

function capName(cap: number): string {
  const name = Object.keys(CAPABILITIES).find((n) => CAPABILITIES[n] === cap);
  return name ?? `capability ${cap}`;
}
