/**
 * backbones.add checks the model in a child process with a time limit (issue 12): a model that takes
 * too long is stopped and refused while the host keeps serving; a check process that dies is a clear
 * error, not a dead host. Real ONNX Runtime sessions in real child processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { encodeModel, i64Tensor, OnnxType } from '../onnx/onnx-writer';
import type { LabError } from '../errors';
import { Lab } from '../lab';
import { tinyBackbone } from './tiny-models';

const t = tempDir('dinolab-check-');
afterAll(() => t.cleanup());

/**
 * A valid-looking backbone that computes for a long time: the mean pixel expanded to a 1536x1536 matrix,
 * then `rounds` chained MatMuls (400 take about 20 s on a 2-core VM), then a mean to pooler_output [1, 1536].
 */
function slowModel(rounds: number): Uint8Array {
  const n = 1536;
  const nodes: Parameters<typeof encodeModel>[0]['nodes'] = [
    { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['m'], attrs: { keepdims: { i: 1 } } },
    { op: 'Reshape', inputs: ['m', 'one_one'], outputs: ['m2'] },
    { op: 'Expand', inputs: ['m2', 'square'], outputs: ['a0'] },
  ];
  for (let k = 0; k < rounds; k++) nodes.push({ op: 'MatMul', inputs: [`a${k}`, 'a0'], outputs: [`a${k + 1}`] });
  nodes.push({ op: 'ReduceMean', inputs: [`a${rounds}`], outputs: ['pooler_output'], attrs: { axes: { ints: [0] }, keepdims: { i: 1 } } });
  return encodeModel({
    inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, 224, 224] }],
    outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT, shape: [1, n] }],
    initializers: [i64Tensor('one_one', [2], [1, 1]), i64Tensor('square', [2], [n, n])],
    nodes,
  });
}

/** The largest gap between ticks of a 20 ms timer while `fn` runs: how long the host's event loop stalled. */
async function maxStall<T>(fn: () => Promise<T>): Promise<{ value: T | unknown; stallMs: number; ms: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 20);
  const t0 = performance.now();
  const value = await fn().catch((e: unknown) => e);
  clearInterval(timer);
  return { value, stallMs: Math.max(stall, performance.now() - last), ms: performance.now() - t0 };
}

/** Child pids of this process whose command line mentions `needle`. */
function childrenMatching(needle: string): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${process.pid}/task`)) {
    const kids = fs.readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim();
    for (const k of kids ? kids.split(/\s+/).map(Number) : []) {
      const cmd = fs.readFileSync(`/proc/${k}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(k);
    }
  }
  return out;
}

describe('backbones.add checks the model in a child process', () => {
  it('a model that computes too long is stopped at the time limit and refused; the host event loop never stalls', async () => {
    const file = path.join(t.dir, 'slow.onnx');
    fs.writeFileSync(file, slowModel(400));
    const lab = new Lab({ host: 'web', dbPath: path.join(t.dir, 'slow.db'), dataDir: t.dir, backboneCheckTimeoutMs: 3000 });
    try {
      const before = (await lab.call('backbones.list', {})).length;
      const r = await maxStall(() => lab.call('backbones.add', { file }));
      const err = r.value as LabError;
      expect(err.code, String(err)).toBe('bad_model');
      expect(err.message).toMatch(/^Checking .*slow\.onnx took longer than 3 s \(loading it and running it on one image\): it was stopped\./);
      expect(r.ms).toBeLessThan(10_000);
      expect(r.stallMs).toBeLessThan(2000); // the check runs in another process; 2 s leaves room for a busy shared CPU
      expect((await lab.call('backbones.list', {})).length).toBe(before);
      expect(childrenMatching('inspect-process')).toEqual([]);
    } finally {
      await lab.close();
    }
  });

  it('a check process that dies (here: killed) is a clear bad_model error and the host carries on', async () => {
    const file = path.join(t.dir, 'slow2.onnx');
    fs.writeFileSync(file, slowModel(400));
    const lab = new Lab({ host: 'web', dbPath: path.join(t.dir, 'kill.db'), dataDir: t.dir });
    try {
      const pending = lab.call('backbones.add', { file }).catch((e: unknown) => e as LabError);
      let pids: number[] = [];
      for (let i = 0; i < 200 && !pids.length; i++) {
        await new Promise((r) => setTimeout(r, 50));
        pids = childrenMatching('inspect-process');
      }
      expect(pids).toHaveLength(1);
      process.kill(pids[0]!, 'SIGKILL');
      const err = (await pending) as LabError;
      expect(err.code).toBe('bad_model');
      expect(err.message).toMatch(/^The model check of .*slow2\.onnx ended without an answer \(signal SIGKILL\)/);
      const good = path.join(t.dir, 'tiny.onnx');
      fs.writeFileSync(good, tinyBackbone());
      expect((await lab.call('backbones.add', { file: good })).name).toBe('tiny');
    } finally {
      await lab.close();
    }
  });
});
