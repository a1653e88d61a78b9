import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LabError } from '../errors';
import { PyBytes, PyDict, PySet, PyTuple, unpickle, type NdArray } from './pickle';
import { readTarEntries } from './tar-reader';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/cifar');

// Produced with CPython 3 + NumPy 2.4:
//   d = {'data': np.arange(12, dtype=np.uint8).reshape(2, 6), 'labels': [3, 7],
//        'f': np.array([[1.5, -2.25], [3.0, 4.5]], dtype='<f4'),
//        'i': np.asfortranarray(np.arange(6, dtype='>i2').reshape(2, 3)),
//        'big': 2**70, 'neg': -5, 'fl': 0.125, 't': (1, 'x', None, True), 'b': b'\x00\xffab'}
//   (protocols 4 and 5 also with d['s'] = {1, 2});  pickle.dumps(d, protocol=p).hex()
const PY3_PICKLES: Record<number, string> = {
  2: '80027d7100285804000000646174617101636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7102636e756d70790a6e6461727261790a71034b00857104635f636f646563730a656e636f64650a7105580100000062710658060000006c6174696e31710786710852710987710a52710b284b014b024b0686710c636e756d70790a64747970650a710d58020000007531710e898887710f527110284b0358010000007c71114e4e4e4affffffff4affffffff4b0074711262896805580c000000000102030405060708090a0b711368078671145271157471166258060000006c6162656c7371175d7118284b034b07655801000000667119680268034b0085711a680987711b52711c284b014b024b0286711d680d58020000006634711e898887711f527120284b0358010000003c71214e4e4e4affffffff4affffffff4b007471226289680558130000000000c3803f000010c380000040400000c2904071236807867124527125747126625801000000697127680268034b00857128680987712952712a284b014b024b0386712b680d58020000006932712c898887712d52712e284b0358010000003e712f4e4e4e4affffffff4affffffff4b0074713062886805580c0000000000000300010004000200057131680786713252713374713462580300000062696771358a0900000000000000004058030000006e656771364afbffffff5802000000666c7137473fc00000000000005801000000747138284b0158010000007871394e8874713a580100000062713b6805580500000000c3bf6162713c680786713d52713e752e',
  3: '80037d7100285804000000646174617101636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7102636e756d70790a6e6461727261790a71034b008571044301627105877106527107284b014b024b06867108636e756d70790a64747970650a710958020000007531710a898887710b52710c284b0358010000007c710d4e4e4e4affffffff4affffffff4b0074710e6289430c000102030405060708090a0b710f7471106258060000006c6162656c7371115d7112284b034b07655801000000667113680268034b008571146805877115527116284b014b024b028671176809580200000066347118898887711952711a284b0358010000003c711b4e4e4e4affffffff4affffffff4b0074711c628943100000c03f000010c00000404000009040711d74711e62580100000069711f680268034b008571206805877121527122284b014b024b0386712368095802000000693271248988877125527126284b0358010000003e71274e4e4e4affffffff4affffffff4b007471286288430c000000030001000400020005712974712a625803000000626967712b8a0900000000000000004058030000006e6567712c4afbffffff5802000000666c712d473fc0000000000000580100000074712e284b01580100000078712f4e887471305801000000627131430400ff61627132752e',
  4: '800495af010000000000007d94288c0464617461948c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b06869468058c0564747970659493948c02753194898887945294284b038c017c944e4e4e4affffffff4affffffff4b0074946289430c000102030405060708090a0b947494628c066c6162656c73945d94284b034b07658c016694680468074b008594680987945294284b014b024b028694680e8c02663494898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494628943100000c03f000010c00000404000009040947494628c016994680468074b008594680987945294284b014b024b038694680e8c02693294898887945294284b038c013e944e4e4e4affffffff4affffffff4b0074946288430c000000030001000400020005947494628c03626967948a090000000000000000408c036e6567944afbffffff8c02666c94473fc00000000000008c017494284b018c0178944e8874948c016294430400ff6162948c0173948f94284b014b0290752e',
  5: '80059592010000000000007d94288c0464617461948c136e756d70792e5f636f72652e6e756d65726963948c0b5f66726f6d62756666657294939428960c00000000000000000102030405060708090a0b948c056e756d7079948c0564747970659493948c02753194898887945294284b038c017c944e4e4e4affffffff4affffffff4b007494624b024b0686948c014394749452948c066c6162656c73945d94284b034b07658c0166946804289610000000000000000000c03f000010c000004040000090409468088c02663494898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624b024b028694680f749452948c016994680428960c000000000000000000000300010004000200059468088c02693294898887945294284b038c013e944e4e4e4affffffff4affffffff4b007494624b024b0386948c014694749452948c03626967948a090000000000000000408c036e6567944afbffffff8c02666c94473fc00000000000008c017494284b018c0178944e8874948c016294430400ff6162948c0173948f94284b014b0290752e',
};

function errorOf(fn: () => unknown): LabError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LabError) return e;
    throw e;
  }
  throw new Error('expected a LabError');
}

describe('unpickle: Python 3 re-saves (protocols 2-5) against CPython reference bytes', () => {
  for (const proto of [2, 3, 4, 5]) {
    it(`protocol ${proto}`, () => {
      const v = unpickle(Buffer.from(PY3_PICKLES[proto]!, 'hex'));
      expect(v).toBeInstanceOf(PyDict);
      const d = v as PyDict;
      const data = d.get('data') as NdArray;
      expect(data.dtype).toBe('uint8');
      expect(data.shape).toEqual([2, 6]);
      expect(Array.from(data.data as Uint8Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(d.get('labels')).toEqual([3, 7]);
      const f = d.get('f') as NdArray;
      expect(f.dtype).toBe('float32');
      expect(Array.from(f.data as Float32Array)).toEqual([1.5, -2.25, 3, 4.5]);
      // Fortran-ordered big-endian int16 comes back in C order, native values.
      const i = d.get('i') as NdArray;
      expect(i.dtype).toBe('int16');
      expect(i.shape).toEqual([2, 3]);
      expect(Array.from(i.data as Int16Array)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(d.get('big')).toBe(2n ** 70n);
      expect(d.get('neg')).toBe(-5);
      expect(d.get('fl')).toBe(0.125);
      const t = d.get('t') as PyTuple;
      expect(t.items).toEqual([1, 'x', null, true]);
      const b = d.get('b') as PyBytes;
      expect(Array.from(b.data)).toEqual([0, 255, 97, 98]);
      if (proto >= 4) expect((d.get('s') as PySet).items).toEqual([1, 2]);
    });
  }
});

describe('unpickle: official CIFAR batches (Python 2 cPickle protocol 2)', () => {
  it('reads a fixture batch: byte-string keys as Latin-1 text, labels, uint8 data', async () => {
    const files = await readTarEntries(path.join(fixtures, 'cifar-10-python.tar.gz'), (p) => p.endsWith('data_batch_1') || p.endsWith('batches.meta'));
    const batch = unpickle(files.get('cifar-10-batches-py/data_batch_1')!) as PyDict;
    expect([...batch.map.keys()].sort()).toEqual(['batch_label', 'data', 'filenames', 'labels']);
    expect((batch.get('batch_label') as PyBytes).text()).toBe('training batch 1 of 5');
    expect((batch.get('batch_label') as PyBytes).py2str).toBe(true);
    const data = batch.get('data') as NdArray;
    expect(data.shape).toEqual([20, 3072]);
    expect((batch.get('labels') as number[]).slice(0, 5)).toEqual([6, 8, 0, 8, 4]);
    const meta = unpickle(files.get('cifar-10-batches-py/batches.meta')!) as PyDict;
    expect((meta.get('label_names') as PyBytes[]).map((x) => x.text())).toEqual([
      'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
    ]);
  });

  it('decodes py2 str with Latin-1 (bytes above 0x7f)', () => {
    const v = unpickle(Buffer.from([0x80, 0x02, 0x55, 0x03, 0x63, 0x61, 0xe9, 0x2e])) as PyBytes;
    expect(v.text()).toBe('caé');
  });
});

describe('unpickle: hostile pickles', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-pickle-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses GLOBAL os.system and executes nothing', () => {
    const marker = path.join(tmp, 'pwned');
    // protocol 0/2 form: cos\nsystem\n(S'touch marker'\ntR.
    const p = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1')]);
    const e = errorOf(() => unpickle(p));
    expect(e.code).toBe('pickle_refused');
    expect(e.message).toContain('refused GLOBAL os.system');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses STACK_GLOBAL builtins.eval (protocol 4)', () => {
    const s = (t: string): Buffer => Buffer.concat([Buffer.from([0x8c, t.length]), Buffer.from(t)]);
    const p = Buffer.concat([Buffer.from([0x80, 0x04]), s('builtins'), s('eval'), Buffer.from([0x93]), s('1+1'), Buffer.from([0x85, 0x52, 0x2e])]);
    const e = errorOf(() => unpickle(p));
    expect(e.code).toBe('pickle_refused');
    expect(e.message).toContain('refused GLOBAL builtins.eval');
  });

  it('refuses object-creating opcodes (NEWOBJ)', () => {
    const e = errorOf(() => unpickle(Buffer.from([0x80, 0x02, 0x29, 0x29, 0x81, 0x2e])));
    expect(e.code).toBe('pickle_refused');
    expect(e.message).toContain('creates Python objects');
  });

  it('stops deep nesting', () => {
    const depth = 5000;
    const p = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(depth, 0x5d), Buffer.alloc(depth - 1, 0x61), Buffer.from([0x2e])]);
    const e = errorOf(() => unpickle(p));
    expect(e.code).toBe('bad_format');
    expect(e.message).toContain('nested deeper than 100');
  });

  it('stops runaway MARKs', () => {
    const e = errorOf(() => unpickle(Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(100_000, 0x28)])));
    expect(e.code).toBe('bad_format');
    expect(e.message).toContain('nested MARKs');
  });

  it('rejects declared lengths beyond the data without allocating them', () => {
    for (const [op, hdr] of [
      ['BINSTRING', [0x54, 0xff, 0xff, 0xff, 0x7f]],
      ['BINBYTES', [0x42, 0xff, 0xff, 0xff, 0xff]],
      ['BINUNICODE8', [0x8d, 0, 0, 0, 0, 0, 1, 0, 0]],
      ['BYTEARRAY8', [0x96, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]],
    ] as const) {
      const e = errorOf(() => unpickle(Buffer.from([0x80, 0x04, ...hdr, 1, 2, 3])));
      expect(e.code, op).toBe('bad_format');
      expect(e.message, op).toMatch(/declares \d+ bytes .* but only 3 remain/);
    }
  });

  it('refuses long integers over 16 bytes (LONG1, LONG4) or 40 digits (LONG) at once, without decoding them', () => {
    // 20 LONG4 integers of 64 KiB each (1.3 MB) used to be decoded, each in quadratic time (16.6 s of CPU).
    const huge = Buffer.alloc(65536, 0x7f);
    const len4 = Buffer.alloc(4);
    len4.writeUInt32LE(huge.length);
    const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x5d, 0x28])]; // PROTO 2, EMPTY_LIST, MARK
    for (let i = 0; i < 20; i++) parts.push(Buffer.from([0x8b]), len4, huge);
    parts.push(Buffer.from([0x65, 0x2e])); // APPENDS, STOP
    const cases: [string, Buffer, RegExp][] = [
      ['LONG4 x 20', Buffer.concat(parts), /an integer of 65536 bytes is too large \(at most 16 bytes are read\)/],
      ['LONG1 of 255 bytes', Buffer.concat([Buffer.from([0x80, 0x02, 0x8a, 255]), Buffer.alloc(255, 1), Buffer.from([0x2e])]), /an integer of 255 bytes is too large/],
      ['LONG of 4,000 digits', Buffer.concat([Buffer.from('L'), Buffer.alloc(4000, 0x37), Buffer.from('L\n.')]), /an integer of 4000 digits is too large/],
    ];
    for (const [what, data, msg] of cases) {
      const t0 = performance.now();
      const e = errorOf(() => unpickle(data));
      const ms = performance.now() - t0;
      expect(e.code, what).toBe('bad_format');
      expect(e.message, what).toMatch(msg);
      expect(ms, what).toBeLessThan(200);
    }
    // A CIFAR-sized long (8 bytes, as in python2 batches) still reads.
    const eight = Buffer.from([0x80, 0x02, 0x8a, 8, 1, 0, 0, 0, 0, 0, 0, 0x40, 0x2e]);
    expect(unpickle(eight)).toBe((1n << 62n) + 1n);
  });

  it('rejects truncated pickles, unknown opcodes and an empty file', () => {
    const ok = Buffer.from(PY3_PICKLES[2]!, 'hex');
    expect(errorOf(() => unpickle(ok.subarray(0, ok.length - 1))).message).toContain('truncated');
    expect(errorOf(() => unpickle(Buffer.from([0x80, 0x02, 0xff]))).message).toContain('unknown or unsupported opcode 0xff');
    expect(errorOf(() => unpickle(Buffer.alloc(0))).message).toContain('empty');
  });

  it('rejects an array whose data does not match its shape', () => {
    // protocol 5 _frombuffer with 3 bytes for shape (2, 2)
    const hex = PY3_PICKLES[5]!;
    const v = unpickle(Buffer.from(hex, 'hex')) as PyDict;
    expect((v.get('data') as NdArray).shape).toEqual([2, 6]);
    const bad = Buffer.from(hex.replace('4b024b0686', '4b034b0686'), 'hex');
    expect(errorOf(() => unpickle(bad)).message).toContain('needs 18 bytes but holds 12');
  });

  it('survives random mutations of a real batch with data or a clear error', () => {
    const base = zlib.gunzipSync(fs.readFileSync(path.join(fixtures, 'cifar-10-python.tar.gz')));
    const start = base.indexOf(Buffer.from([0x80, 0x02, 0x7d]));
    const batch = base.subarray(start, start + 62170);
    let seed = 12345;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let errors = 0;
    for (let k = 0; k < 300; k++) {
      const m = Buffer.from(batch);
      // Mutate the structural head and tail, where the opcodes are.
      for (let j = 0; j < 3; j++) {
        const at = rnd() < 0.5 ? Math.floor(rnd() * 300) : m.length - 1 - Math.floor(rnd() * 1200);
        m[at] = Math.floor(rnd() * 256);
      }
      try {
        unpickle(m);
      } catch (e) {
        expect(e).toBeInstanceOf(LabError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });
});
