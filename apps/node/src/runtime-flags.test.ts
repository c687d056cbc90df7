import { describe, expect, it } from 'vitest';
import { NODE_RUNTIME_FLAGS } from '@quorumlite/cluster';
import { flagsToSet, NODE_V8_FLAGS } from './runtime-flags';

describe('the V8 flags a node sets on itself', () => {
  it('sets each one the command line leaves out', () => {
    expect(flagsToSet([])).toEqual([...NODE_V8_FLAGS]);
    expect(flagsToSet([...NODE_RUNTIME_FLAGS, '--require', '/x.cjs'])).toEqual([...NODE_V8_FLAGS]);
  });

  it('leaves a setting the command line names, either way and spelled either way', () => {
    expect(flagsToSet(['--allocation-site-pretenuring'])).toEqual([]);
    expect(flagsToSet(['--no-allocation-site-pretenuring'])).toEqual([]);
    expect(flagsToSet(['--allocation_site_pretenuring'])).toEqual([]);
  });
});
