/**
 * Starts the native agent with its control socket on the descriptor after the preserved ones.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';

import { distFile } from '../dist.js';
import { HakoError } from '../errors.js';
import { AgentSys } from './agent.js';
import { Channel } from './channel.js';

export interface AgentProcess {
  pid: number;
  child: ChildProcess;
  channel: Channel;
  sys: AgentSys;
  /** Settles when the agent's first process exits: its code, or 128 + signal. */
  exited: Promise<number>;
}

export interface AgentOptions {
  /** Descriptors 3 .. 3+preserveFds-1 of this process are passed on at the same numbers. */
  preserveFds: number;
  /** The container's stdio; defaults to this process's own. */
  stdio?: [number | 'inherit' | 'ignore', number | 'inherit', number | 'inherit'];
}

let cachedPath: string | undefined;

/** The built agent, dist/hako-agent of the tree hako runs from ($HAKO_AGENT overrides it). */
export function agentPath(): string {
  cachedPath ??= process.env.HAKO_AGENT || distFile('hako-agent');
  return cachedPath;
}

export function spawnAgent(options: AgentOptions): AgentProcess {
  const controlFd = 3 + options.preserveFds;
  const stdio: StdioOptions = [...(options.stdio ?? ['inherit', 'inherit', 'inherit'])];
  for (let fd = 3; fd < controlFd; fd++) stdio.push(fd);
  stdio.push('pipe');

  const child = spawn(agentPath(), [String(controlFd)], { stdio, env: {} });
  const socket = child.stdio[controlFd] as Duplex | null;
  if (!socket || child.pid === undefined) {
    throw new HakoError(`start ${agentPath()}: spawn failed`);
  }
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
    child.on('error', () => resolve(127));
  });
  const channel = new Channel(socket);
  return { pid: child.pid, child, channel, sys: new AgentSys(channel), exited };
}

function signalNumber(name: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}
