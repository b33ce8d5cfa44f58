import { describe, expect, it } from 'vitest';

import { hasWasmEntrypoint, selectHandler } from '../../src/handlers/wasm/select.js';

const BUILTIN = ['linux', 'wasm'];
const WITH_WASMTIME = ['linux', 'wasm', 'wasmtime'];
const HANDLER = 'run.oci.handler';
const VARIANT = 'module.wasm.image/variant';
const SANDBOX = { 'io.kubernetes.cri.container-type': 'sandbox' };

const wasmArgs = ['/app.wasm', 'x'];
const watArgs = ['/app.wat'];
const nativeArgs = ['/bin/sh', '-c', 'true'];

describe('selectHandler: no annotations', () => {
  it('runs natively, whatever the entrypoint', () => {
    expect(selectHandler(undefined, wasmArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({}, nativeArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({}, undefined, BUILTIN)).toBe('linux');
  });
});

describe('selectHandler: run.oci.handler', () => {
  it('wasm selects wasm and skips the args[0] check', () => {
    expect(selectHandler({ [HANDLER]: 'wasm' }, wasmArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [HANDLER]: 'wasm' }, nativeArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [HANDLER]: 'wasm' }, undefined, BUILTIN)).toBe('wasm');
  });

  it('wasm-smart selects wasm only for a .wasm or .wat entrypoint', () => {
    expect(selectHandler({ [HANDLER]: 'wasm-smart' }, wasmArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [HANDLER]: 'wasm-smart' }, watArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [HANDLER]: 'wasm-smart' }, nativeArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({ [HANDLER]: 'wasm-smart' }, undefined, BUILTIN)).toBe('linux');
    expect(selectHandler({ [HANDLER]: 'wasm-smart' }, [], BUILTIN)).toBe('linux');
  });

  it('any other value names a handler or plugin', () => {
    const available = ['linux', 'wasm', 'js'];
    expect(selectHandler({ [HANDLER]: 'js' }, nativeArgs, available)).toBe('js');
    expect(selectHandler({ [HANDLER]: 'linux' }, wasmArgs, available)).toBe('linux');
    expect(selectHandler({ [HANDLER]: 'wasmtime' }, nativeArgs, WITH_WASMTIME)).toBe('wasmtime');
  });

  it('an unknown name is an error listing what is available', () => {
    expect(() => selectHandler({ [HANDLER]: 'foo' }, wasmArgs, BUILTIN)).toThrow(
      /^run\.oci\.handler: no handler named "foo" \(available: linux, wasm\)$/,
    );
    expect(() => selectHandler({ [HANDLER]: 'wasmedge' }, wasmArgs, BUILTIN)).toThrow(
      'no handler named "wasmedge"',
    );
    expect(() => selectHandler({ [HANDLER]: '' }, wasmArgs, BUILTIN)).toThrow(
      'no handler named ""',
    );
  });

  it('wasmtime named but not installed says it was not found in PATH', () => {
    expect(() => selectHandler({ [HANDLER]: 'wasmtime' }, wasmArgs, BUILTIN)).toThrow(
      'run.oci.handler: handler "wasmtime" needs the wasmtime CLI, which was not found in PATH',
    );
  });

  it('wins over module.wasm.image/variant, which is then ignored', () => {
    const smartNative = { [HANDLER]: 'wasm-smart', [VARIANT]: 'compat' };
    expect(selectHandler(smartNative, nativeArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({ [HANDLER]: 'linux', [VARIANT]: 'compat' }, wasmArgs, BUILTIN)).toBe(
      'linux',
    );
    expect(selectHandler({ [HANDLER]: 'wasm', [VARIANT]: 'other' }, nativeArgs, BUILTIN)).toBe(
      'wasm',
    );
  });
});

describe('selectHandler: module.wasm.image/variant', () => {
  it('compat selects wasm whatever the entrypoint', () => {
    expect(selectHandler({ [VARIANT]: 'compat' }, wasmArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [VARIANT]: 'compat' }, nativeArgs, BUILTIN)).toBe('wasm');
  });

  it('compat-smart selects wasm only for a .wasm or .wat entrypoint', () => {
    expect(selectHandler({ [VARIANT]: 'compat-smart' }, wasmArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [VARIANT]: 'compat-smart' }, watArgs, BUILTIN)).toBe('wasm');
    expect(selectHandler({ [VARIANT]: 'compat-smart' }, nativeArgs, BUILTIN)).toBe('linux');
  });

  it('other values are ignored (native)', () => {
    expect(selectHandler({ [VARIANT]: 'wasm' }, wasmArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({ [VARIANT]: '' }, wasmArgs, BUILTIN)).toBe('linux');
  });
});

describe('selectHandler: Kubernetes sandbox containers', () => {
  it('always run natively, whatever the annotations', () => {
    expect(selectHandler({ ...SANDBOX, [HANDLER]: 'wasm' }, wasmArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({ ...SANDBOX, [HANDLER]: 'foo' }, wasmArgs, BUILTIN)).toBe('linux');
    expect(selectHandler({ ...SANDBOX, [VARIANT]: 'compat' }, wasmArgs, BUILTIN)).toBe('linux');
    expect(selectHandler(SANDBOX, wasmArgs, BUILTIN, { forced: 'wasm' })).toBe('linux');
  });

  it('a container of another type is not exempt', () => {
    const container = { 'io.kubernetes.cri.container-type': 'container', [HANDLER]: 'wasm' };
    expect(selectHandler(container, nativeArgs, BUILTIN)).toBe('wasm');
  });
});

describe('selectHandler: a runtime forced to one handler (crun-<handler>)', () => {
  it('uses that handler for every container', () => {
    expect(selectHandler({}, nativeArgs, BUILTIN, { forced: 'wasm' })).toBe('wasm');
    expect(selectHandler({ [VARIANT]: 'compat-smart' }, nativeArgs, BUILTIN, { forced: 'wasm' }))
      .toBe('wasm');
  });

  it('refuses a run.oci.handler annotation on top', () => {
    expect(() =>
      selectHandler({ [HANDLER]: 'wasm' }, wasmArgs, BUILTIN, { forced: 'wasm' }),
    ).toThrow('run.oci.handler: cannot override the handler "wasm" this runtime was started for');
  });
});

describe('hasWasmEntrypoint', () => {
  it('matches the suffix of args[0] only, case-sensitively', () => {
    expect(hasWasmEntrypoint(['/a.wasm'])).toBe(true);
    expect(hasWasmEntrypoint(['a.wat'])).toBe(true);
    expect(hasWasmEntrypoint(['/a.WASM'])).toBe(false);
    expect(hasWasmEntrypoint(['/bin/sh', 'x.wasm'])).toBe(false);
    expect(hasWasmEntrypoint(['/a.wasm.sh'])).toBe(false);
  });
});
