/**
 * Hostname and domainname. Both belong to the UTS namespace: without one of its own
 * (new or joined) the container would rename the host, so runc refuses, and so does hako.
 */
import { HakoError } from '../errors.js';
import type { Spec } from '../spec/types.js';
import { sysStep } from '../sys/failure.js';
import type { Sys } from '../sys/sys.js';
import { hasNamespace } from './context.js';

/** Throws before anything is mounted when a name is set without a UTS namespace. */
export function checkHostname(spec: Spec): void {
  if (hasNamespace(spec, 'uts')) return;
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field]) {
      throw new HakoError(
        `config.json: ${field}: setting it needs a UTS namespace (linux.namespaces has none)`,
      );
    }
  }
}

export async function setHostname(sys: Sys, spec: Spec): Promise<void> {
  if (spec.hostname) {
    await sysStep(`sethostname "${spec.hostname}"`, sys.sethostname(spec.hostname));
  }
  if (spec.domainname) {
    await sysStep(`setdomainname "${spec.domainname}"`, sys.setdomainname(spec.domainname));
  }
}
