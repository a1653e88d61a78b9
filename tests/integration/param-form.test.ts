/**
 * The Train page's form checks params with the limits `classifiers.kinds` reports; these must accept
 * exactly what the engine's schemas accept, so a value the form lets through is never refused by the
 * engine and a valid value is never blocked.
 */
import { describe, expect, it } from 'vitest';
import { describeKinds, type DescribedSpec } from '../../src/core/classifiers/describe';
import * as keras from '../../src/core/classifiers/keras/params';
import * as knn from '../../src/core/classifiers/knn/params';
import * as logreg from '../../src/core/classifiers/logreg/params';
import * as mlp from '../../src/core/classifiers/mlp/params';
import * as svc from '../../src/core/classifiers/svc/params';
import { initialValues, paramFields, readParams, type FormValues } from '../../src/renderer/src/lib/param-form';

const SPECS: DescribedSpec[] = [
  { kind: 'mlp', text: mlp.text, params: mlp.mlpParams, tags: mlp.tags },
  { kind: 'keras', text: keras.text, params: keras.kerasParams, tags: keras.tags },
  { kind: 'svc', text: svc.text, params: svc.svcParams, tags: svc.tags },
  { kind: 'logreg', text: logreg.text, params: logreg.logregParams, tags: logreg.tags },
  { kind: 'knn', text: knn.text, params: knn.knnParams, tags: knn.tags },
];

const TEXTS = ['0', '-1', '-2', '1', '0.5', '2.5', '1e-7', '10', '10.5', '0.9', '0.95', '100', '8192', '8193', '65536', '65537', '1e9', 'abc', 'scale', 'auto'];
const LISTS = ['1, 10', '0, 1', '-1', '', 'x', Array.from({ length: 101 }, () => '1').join(',')];

describe('the Train form and the engine agree', () => {
  for (const [i, info] of describeKinds(SPECS).entries()) {
    const schema = SPECS[i]!.params;
    it(`${info.kind}: defaults are valid, and each field's checks match the schema`, () => {
      const fields = paramFields(info);
      const initial = initialValues(fields);
      const base = readParams(fields, initial);
      expect(base.errors).toEqual({});
      expect(base.params).toEqual(info.defaults);
      for (const f of fields) {
        if (f.type === 'boolean' || f.type === 'select') continue;
        for (const text of f.type === 'number-list' ? LISTS : TEXTS) {
          const values: FormValues = { ...initial, [f.key]: text };
          const form = readParams(fields, values);
          const engine = schema.safeParse(form.params);
          expect([f.key, text, !form.errors[f.key]]).toEqual([f.key, text, engine.success]);
        }
      }
    });
  }

  it('explains a refusal in words a person can act on', () => {
    const [mlpInfo, , svcInfo] = describeKinds(SPECS);
    const m = paramFields(mlpInfo!);
    const s = paramFields(svcInfo!);
    const read = (fields: typeof m, key: string, text: string): string | undefined => readParams(fields, { ...initialValues(fields), [key]: text }).errors[key];
    expect(read(m, 'epochs', '0')).toBe('At least 1.');
    expect(read(m, 'epochs', '2.5')).toBe('A whole number.');
    expect(read(m, 'hidden', '9000')).toBe('At most 8192.');
    expect(read(m, 'lr', '0')).toBe('A positive number.');
    expect(read(m, 'lr', 'x')).toBe('Enter a number.');
    expect(read(s, 'gamma', 'auto')).toBe("A positive number or 'scale'.");
    expect(read(s, 'gamma', 'scale')).toBeUndefined();
    expect(read(s, 'C', '1e9')).toBeUndefined();
    expect(read(s, 'maxIter', '')).toBe('Enter a number.'); // stricter than the engine, which would read 0
  });
});
