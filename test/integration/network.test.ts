/**
 * A new network namespace gets its loopback device up, as runc gives it: containers of one
 * pod reach each other on 127.0.0.1.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { Scratch } from './helpers.js';

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

describe('network namespace', () => {
  it('has lo up and carries a connection over 127.0.0.1', () => {
    const script = [
      'ip link show lo',
      '(echo pong | nc -l -p 7777 >/dev/null &)',
      'sleep 0.3',
      'echo ping | nc 127.0.0.1 7777',
    ].join('; ');
    const result = scratch.run(['sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(result.stdout.trim().split('\n').pop()).toBe('pong');
    expect(result.status).toBe(0);
  });
});
