import { afterEach, describe, expect, it } from 'vitest';

import { pauseContainer, resumeContainer } from '../../src/core/lifecycle/pause.js';
import { type Container, fakeContainer, stop } from './cli-fixture.js';

describe('pause and resume (fake cgroup)', () => {
  let c: Container | undefined;
  afterEach(() => {
    c?.cleanup();
    c = undefined;
  });

  it('freezes a running container and thaws it again (v1 freezer)', async () => {
    c = fakeContainer();
    await pauseContainer(c.root, c.id);
    expect(c.fake.read('freezer/test/c1/freezer.state')).toBe('FROZEN');
    await expect(pauseContainer(c.root, c.id)).rejects.toThrow('container not running');

    await resumeContainer(c.root, c.id);
    expect(c.fake.read('freezer/test/c1/freezer.state')).toBe('THAWED');
    await expect(resumeContainer(c.root, c.id)).rejects.toThrow('container not paused');
  });

  it('pauses a created container, as runc does', async () => {
    c = fakeContainer();
    c.markCreated();
    await pauseContainer(c.root, c.id);
    expect(c.fake.read('freezer/test/c1/freezer.state')).toBe('FROZEN');
  });

  it('uses cgroup.freeze on v2', async () => {
    c = fakeContainer({ v2: true });
    // The fake stands in for the kernel: cgroup.events changes when the test says so.
    const events = (frozen: number) => (c as Container).fake
      .write('test/c1/cgroup.events', `populated 1\nfrozen ${frozen}\n`);
    events(0);
    setTimeout(() => events(1), 30);
    await pauseContainer(c.root, c.id);
    expect(c.fake.read('test/c1/cgroup.freeze')).toBe('1');

    setTimeout(() => events(0), 30);
    await resumeContainer(c.root, c.id);
    expect(c.fake.read('test/c1/cgroup.freeze')).toBe('0');
    await expect(resumeContainer(c.root, c.id)).rejects.toThrow('container not paused');
  });

  it('refuses a stopped container', async () => {
    c = fakeContainer();
    await stop(c.init);
    await expect(pauseContainer(c.root, c.id)).rejects.toThrow('container not running');
    await expect(resumeContainer(c.root, c.id)).rejects.toThrow('container not paused');
  });
});
