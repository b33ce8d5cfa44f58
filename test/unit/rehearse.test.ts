import { describe, expect, it } from 'vitest';

import { rehearse } from '../../src/cli/rehearse.js';

// The build runs the rehearsal while it makes the start-up snapshot; if it threw, the build
// would fall back to a slower start with only a warning. This keeps it working.
describe('rehearse', () => {
  it('plays a container setup through without touching the machine', async () => {
    await expect(rehearse()).resolves.toBeUndefined();
  });
});
