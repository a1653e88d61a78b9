import { describe, expect, it } from 'vitest';
import { FastestChooser } from './fastest';

/** Runs the chooser for `runs` runs against a time per option (which may change with the run number); returns the options it picked. */
function drive(c: FastestChooser, runs: number, time: (option: number, run: number) => number, from = 0): number[] {
  const picks: number[] = [];
  for (let r = from; r < from + runs; r++) {
    const i = c.next();
    picks.push(i);
    c.record(i, time(i, r));
  }
  return picks;
}

describe('FastestChooser', () => {
  it('warms each option up, measures it, then runs the faster, trying the other every probeEvery runs', () => {
    const c = new FastestChooser(2, 8);
    // option 1 is twice as fast; warm-up runs report nonsense (they are not counted)
    const picks = drive(c, 40, (i, r) => (r === 0 || r === 2 ? 1000 : i === 0 ? 3.5 : 1.75));
    expect(picks.slice(0, 4)).toEqual([0, 0, 1, 1]);
    expect(c.best()).toBe(1);
    const probes = picks.map((p, r) => (p === 0 && r >= 4 ? r : -1)).filter((r) => r >= 0);
    expect(probes).toEqual([8, 16, 24, 32]);
    expect(c.summary().map((s) => s.runs)).toEqual([6, 34]);
    expect(c.summary()[1]!.ms).toBe(1.75);
  });

  it('follows a change of which option is faster (another process taking the cores)', () => {
    const c = new FastestChooser(2, 8);
    // quiet until run 20: option 1 (every core) faster; then loaded: option 0 (one thread) faster
    const time = (i: number, r: number): number => (r < 20 ? (i === 0 ? 3.5 : 2.1) : i === 0 ? 4.2 : 5.0);
    drive(c, 20, time);
    expect(c.best()).toBe(1);
    const later = drive(c, 20, time, 20);
    expect(c.best()).toBe(0);
    // it switched by the second probe after the change, and stayed
    expect(later.slice(-8).filter((p) => p === 0).length).toBeGreaterThanOrEqual(7);
  });

  it('with one option always picks it', () => {
    const c = new FastestChooser(1);
    expect(drive(c, 20, () => 1)).toEqual(new Array(20).fill(0));
  });
});
