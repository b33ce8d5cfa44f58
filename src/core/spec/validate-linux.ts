// Validation of config.json's "linux": namespaces, ID mappings, devices, seccomp and the
// paths the rootfs setup works on. Cgroup resources live in validate-resources.ts.

import { Checker, keyPath } from './check.js';
import { DEVICE_TYPES, isNamespaceType, PERSONALITY_DOMAINS } from './linux.js';
import { validateResources } from './validate-resources.js';

const PROPAGATIONS = [
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable',
] as const;

const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
] as const;

const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;

const TIME_CLOCKS = ['monotonic', 'boottime'] as const;

/** Namespace types configured, with the path to join or '' for a new one. */
export type NamespaceTable = Map<string, string>;

export function validateLinux(c: Checker, path: string, value: unknown): NamespaceTable {
  const linux = c.optObject(path, value) ?? {};

  const namespaces = validateNamespaces(c, `${path}.namespaces`, linux.namespaces);
  validateIdMappings(c, `${path}.uidMappings`, linux.uidMappings);
  validateIdMappings(c, `${path}.gidMappings`, linux.gidMappings);
  // A new user namespace without mappings leaves every id unmapped: nothing could run in it.
  if (namespaces.get('user') === '') {
    if (!Array.isArray(linux.uidMappings) || linux.uidMappings.length === 0) {
      c.fail(`${path}.uidMappings`, 'required when a new user namespace is created');
    }
    if (!Array.isArray(linux.gidMappings) || linux.gidMappings.length === 0) {
      c.fail(`${path}.gidMappings`, 'required when a new user namespace is created');
    }
  }

  c.stringMap(`${path}.sysctl`, linux.sysctl);
  validateResources(c, `${path}.resources`, linux.resources);
  c.optString(`${path}.cgroupsPath`, linux.cgroupsPath);
  validateDevices(c, `${path}.devices`, linux.devices);
  validateSeccomp(c, `${path}.seccomp`, linux.seccomp);
  if (linux.rootfsPropagation !== undefined && linux.rootfsPropagation !== '') {
    c.oneOf(`${path}.rootfsPropagation`, linux.rootfsPropagation, PROPAGATIONS, 'propagation');
  }
  c.absolutePaths(`${path}.maskedPaths`, linux.maskedPaths);
  c.absolutePaths(`${path}.readonlyPaths`, linux.readonlyPaths);
  c.optString(`${path}.mountLabel`, linux.mountLabel);
  validateIntelRdt(c, `${path}.intelRdt`, linux.intelRdt);
  validatePersonality(c, `${path}.personality`, linux.personality);
  validateTimeOffsets(c, `${path}.timeOffsets`, linux.timeOffsets);
  return namespaces;
}

function validateNamespaces(c: Checker, path: string, value: unknown): NamespaceTable {
  const table: NamespaceTable = new Map();
  c.optArray(path, value)?.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const ns = c.object(at, item);
    const type = c.string(`${at}.type`, ns.type);
    if (!isNamespaceType(type)) c.fail(`${at}.type`, `unknown namespace type "${type}"`);
    if (table.has(type)) c.fail(`${at}.type`, `duplicate namespace type "${type}"`);
    const joins = ns.path !== undefined && ns.path !== '';
    table.set(type, joins ? c.absolutePath(`${at}.path`, ns.path) : '');
  });
  return table;
}

function validateIdMappings(c: Checker, path: string, value: unknown): void {
  c.optArray(path, value)?.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const m = c.object(at, item);
    c.uint32(`${at}.containerID`, m.containerID);
    c.uint32(`${at}.hostID`, m.hostID);
    c.integer(`${at}.size`, m.size, 1, 0xffffffff);
  });
}

function validateDevices(c: Checker, path: string, value: unknown): void {
  c.optArray(path, value)?.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const d = c.object(at, item);
    c.absolutePath(`${at}.path`, d.path);
    const type = c.string(`${at}.type`, d.type);
    if (!Object.hasOwn(DEVICE_TYPES, type)) c.fail(`${at}.type`, `unknown device type "${type}"`);
    // A FIFO has no device number; every other type needs both (config-linux.md).
    const numbers = type === 'p' ? c.optUint32.bind(c) : c.uint32.bind(c);
    numbers(`${at}.major`, d.major);
    numbers(`${at}.minor`, d.minor);
    c.optInteger(`${at}.fileMode`, d.fileMode, 0, 0o177777);
    c.optUint32(`${at}.uid`, d.uid);
    c.optUint32(`${at}.gid`, d.gid);
  });
}

function validateSeccomp(c: Checker, path: string, value: unknown): void {
  const s = c.optObject(path, value);
  if (!s) return;
  c.oneOf(`${path}.defaultAction`, s.defaultAction, SECCOMP_ACTIONS, 'seccomp action');
  c.optUint32(`${path}.defaultErrnoRet`, s.defaultErrnoRet);
  c.optStringArray(`${path}.architectures`, s.architectures);
  c.optStringArray(`${path}.flags`, s.flags);
  c.optString(`${path}.listenerPath`, s.listenerPath);
  c.optString(`${path}.listenerMetadata`, s.listenerMetadata);

  c.optArray(`${path}.syscalls`, s.syscalls)?.forEach((item, i) => {
    const at = `${path}.syscalls[${i}]`;
    const rule = c.object(at, item);
    const names = c.stringArray(`${at}.names`, rule.names);
    if (names.length === 0) c.fail(`${at}.names`, 'must be a non-empty array of strings');
    c.oneOf(`${at}.action`, rule.action, SECCOMP_ACTIONS, 'seccomp action');
    c.optUint32(`${at}.errnoRet`, rule.errnoRet);
    c.optArray(`${at}.args`, rule.args)?.forEach((argItem, j) => {
      const argAt = `${at}.args[${j}]`;
      const arg = c.object(argAt, argItem);
      // Syscalls take at most six arguments.
      c.integer(`${argAt}.index`, arg.index, 0, 5);
      c.integer(`${argAt}.value`, arg.value, 0, 2 ** 64);
      c.optInteger(`${argAt}.valueTwo`, arg.valueTwo, 0, 2 ** 64);
      c.oneOf(`${argAt}.op`, arg.op, SECCOMP_OPERATORS, 'seccomp operator');
    });
  });
}

function validateIntelRdt(c: Checker, path: string, value: unknown): void {
  const rdt = c.optObject(path, value);
  if (!rdt) return;
  c.optString(`${path}.closID`, rdt.closID);
  c.optString(`${path}.l3CacheSchema`, rdt.l3CacheSchema);
  c.optString(`${path}.memBwSchema`, rdt.memBwSchema);
  c.optBoolean(`${path}.enableCMT`, rdt.enableCMT);
  c.optBoolean(`${path}.enableMBM`, rdt.enableMBM);
}

function validatePersonality(c: Checker, path: string, value: unknown): void {
  const p = c.optObject(path, value);
  if (!p) return;
  const domains = Object.keys(PERSONALITY_DOMAINS);
  c.oneOf(`${path}.domain`, p.domain, domains, 'personality domain');
  c.optStringArray(`${path}.flags`, p.flags);
}

function validateTimeOffsets(c: Checker, path: string, value: unknown): void {
  const offsets = c.optObject(path, value);
  if (!offsets) return;
  for (const [clock, item] of Object.entries(offsets)) {
    const at = keyPath(path, clock);
    if (!(TIME_CLOCKS as readonly string[]).includes(clock)) c.fail(at, 'unknown clock');
    const offset = c.object(at, item);
    c.optInt64(`${at}.secs`, offset.secs);
    c.optInteger(`${at}.nanosecs`, offset.nanosecs, 0, 999_999_999);
  }
}
