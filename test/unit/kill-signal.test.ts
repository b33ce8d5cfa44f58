import { describe, expect, it } from 'vitest';

import { parseSignal } from '../../src/core/lifecycle/kill.js';

describe('parseSignal', () => {
  it('takes names with or without SIG, numbers, and the real-time forms', () => {
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('SIGKILL')).toBe(9);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('term')).toBe(15);
    expect(parseSignal('0')).toBe(0);
    expect(parseSignal('SIGRTMIN+2')).toBe(36);
    expect(parseSignal('RTMAX')).toBe(64);
  });

  it('refuses what is no signal', () => {
    expect(() => parseSignal('999')).toThrow('invalid signal "999"');
    expect(() => parseSignal('NOPE')).toThrow('invalid signal "NOPE"');
  });
});
