/**
 * systemd socket activation, as runc honours it: when hako itself was given sockets
 * (LISTEN_FDS=N and LISTEN_PID naming this process), descriptors 3..3+N-1 go on to the
 * container, whose process sees LISTEN_FDS=N and LISTEN_PID=1. podman does not rely on this: it
 * turns its own sockets into --preserve-fds and the variables into process.env.
 */
import type { Spec } from '../spec/types.js';

/** The number of sockets passed to this process, 0 when none or when they are not ours. */
export function listenFdsOf(env: NodeJS.ProcessEnv, pid: number): number {
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count <= 0) return 0;
  return Number(env.LISTEN_PID) === pid ? count : 0;
}

/** The spec with the variables the container's process reads, replacing any it had. */
export function withListenFds(spec: Spec, count: number): Spec {
  if (count === 0 || !spec.process) return spec;
  const env = (spec.process.env ?? [])
    .filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='));
  env.push(`LISTEN_FDS=${count}`, 'LISTEN_PID=1');
  return { ...spec, process: { ...spec.process, env } };
}
