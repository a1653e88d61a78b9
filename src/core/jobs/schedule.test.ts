import { describe, expect, it } from 'vitest';
import { aheadOf, datasetLock, locksMeet, startable, type Slot } from './schedule';

const compute = (id: string, ...locks: string[]): Slot => ({ id, resource: 'compute', locks });
const light = (id: string, ...locks: string[]): Slot => ({ id, resource: 'light', locks });

describe('job scheduling', () => {
  it('starts one light job beside a running compute job', () => {
    expect(startable([light('import')], [compute('embed', 'dataset:1')])).toEqual(['import']);
  });

  it('keeps compute jobs one at a time, in order', () => {
    expect(startable([compute('b', 'dataset:2'), compute('c', 'dataset:3')], [compute('a', 'dataset:1')])).toEqual([]);
    expect(startable([compute('b', 'dataset:2'), compute('c', 'dataset:3')], [])).toEqual(['b']);
  });

  it('starts one of each class from an idle queue, in order within each class', () => {
    expect(startable([compute('e1'), compute('e2'), light('i1'), light('i2')], [])).toEqual(['e1', 'i1']);
  });

  it('never runs two jobs on the same dataset: the later waits and holds its class back', () => {
    expect(startable([light('map', 'dataset:1'), light('import')], [compute('embed', 'dataset:1')])).toEqual([]);
    expect(startable([light('map', 'dataset:2')], [compute('embed', 'dataset:1')])).toEqual(['map']);
  });

  it('a job holding every dataset meets any dataset lock', () => {
    expect(locksMeet('dataset:*', 'dataset:7')).toBe(true);
    expect(locksMeet('dataset:7', 'dataset:*')).toBe(true);
    expect(locksMeet('dataset:7', 'dataset:70')).toBe(false);
    expect(startable([light('map', 'dataset:4')], [compute('demo', ...datasetLock(undefined))])).toEqual([]);
  });

  it('counts the jobs of its class ahead of each queued job', () => {
    const ahead = aheadOf([compute('b'), light('x'), compute('c'), light('y')], [compute('a'), light('i')]);
    expect(Object.fromEntries(ahead)).toEqual({ b: 1, x: 1, c: 2, y: 2 });
  });
});
