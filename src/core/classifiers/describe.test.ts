import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CLASSIFIER_KINDS, classifierKindInfo, type ClassifierKind, type ParamField } from '../../shared/contract';
import { describeKinds, type DescribedSpec } from './describe';
import * as keras from './keras/params';
import * as knn from './knn/params';
import * as logreg from './logreg/params';
import { DEFAULT_C_GRID } from './logreg/params';
import * as mlp from './mlp/params';
import { defaultParams as defaultsOf, parseParams as parseWith } from './params-helpers';
import * as svc from './svc/params';

// The declarative half of each kind's spec (create/load are not needed to describe or validate params).
const SPECS: Record<ClassifierKind, DescribedSpec> = {
  mlp: { kind: 'mlp', text: mlp.text, params: mlp.mlpParams, tags: mlp.tags },
  keras: { kind: 'keras', text: keras.text, params: keras.kerasParams, tags: keras.tags },
  svc: { kind: 'svc', text: svc.text, params: svc.svcParams, tags: svc.tags },
  logreg: { kind: 'logreg', text: logreg.text, params: logreg.logregParams, tags: logreg.tags },
  knn: { kind: 'knn', text: knn.text, params: knn.knnParams, tags: knn.tags },
};
const defaultParams = (kind: ClassifierKind): Record<string, unknown> => defaultsOf(SPECS[kind]) as Record<string, unknown>;
const parseParams = (kind: ClassifierKind, obj: unknown): Record<string, unknown> => parseWith(SPECS[kind], obj) as Record<string, unknown>;
const described = describeKinds(CLASSIFIER_KINDS.map((k) => SPECS[k]));
const paramDocs = Object.fromEntries(described.map((d) => [d.kind, Object.fromEntries(d.fields.map((f) => [f.key, f]))])) as Record<
  ClassifierKind,
  Record<string, ParamField>
>;

describe('classifier params', () => {
  it('defaults reproduce the reference study', () => {
    expect(defaultParams('mlp')).toEqual({ hidden: 256, lr: 1e-3, batchSize: 64, epochs: 25, validationFraction: 0.1, selectOn: 'validation' });
    expect(defaultParams('keras')).toMatchObject({ hidden: 256, lr: 1e-3, batchSize: 32, epochs: 25 });
    // scikit-learn SVC() defaults: C=1, gamma='scale', tol=1e-3, shrinking=True, max_iter=-1.
    expect(defaultParams('svc')).toEqual({ C: 1, gamma: 'scale', tol: 1e-3, cacheMb: 512, shrinking: true, probability: true, maxIter: -1 });
    expect(defaultParams('knn')).toEqual({ k: 20, temperature: 0.07 });
    expect(DEFAULT_C_GRID.length).toBe(13);
    expect(DEFAULT_C_GRID[0]).toBe(1e-4);
    expect(DEFAULT_C_GRID[12]).toBe(100);
  });

  it('fills defaults, keeps given values and explains errors', () => {
    expect(parseParams('svc', { gamma: 0.01 }).gamma).toBe(0.01);
    expect(parseParams('mlp', { selectOn: 'test' }).selectOn).toBe('test');
    expect(() => parseParams('knn', { k: 0 })).toThrow(/k: .*>=1|k: Too small/);
    expect(() => parseParams('svc', { gamma: 'auto' })).toThrow(/gamma/);
    expect(() => parseParams('mlp', { epoch: 3 })).toThrow(/Unrecognized key.*epoch/);
  });

  it('documents every parameter of every kind', () => {
    for (const kind of CLASSIFIER_KINDS) {
      expect(Object.keys(paramDocs[kind]).sort()).toEqual(Object.keys(defaultParams(kind)).sort());
    }
  });
});

describe('kind descriptions', () => {
  it('fit the contract and carry each kind\'s text, tags and defaults', () => {
    expect(() => classifierKindInfo.array().parse(described)).not.toThrow();
    expect(described.map((d) => d.kind)).toEqual([...CLASSIFIER_KINDS]);
    for (const d of described) {
      expect(d.defaults).toEqual(defaultParams(d.kind));
      expect(d.title && d.tab && d.blurb).toBeTruthy();
      for (const f of d.fields) expect(f.label && f.description).toBeTruthy();
    }
    expect(described.filter((d) => d.tags.epochs).map((d) => d.kind)).toEqual(['mlp', 'keras']);
    expect(described.filter((d) => d.tags.keepsTrainingSetByReference).map((d) => d.kind)).toEqual(['knn']);
    expect(described.filter((d) => d.tags.engine === 'js').map((d) => d.kind)).toEqual(['svc']);
    expect(described.filter((d) => d.tags.engine === 'onnxruntime').map((d) => d.kind)).toEqual(['mlp', 'keras', 'logreg', 'knn']);
  });

  it('take types and limits from the schema itself', () => {
    expect(paramDocs.mlp.hidden).toMatchObject({ label: 'Hidden units', type: 'integer', min: 1, max: 8192 });
    expect(paramDocs.mlp.lr).toMatchObject({ type: 'number', exclusiveMin: 0, max: 10 });
    expect(paramDocs.mlp.lr!.min).toBeUndefined();
    expect(paramDocs.mlp.selectOn).toMatchObject({ type: 'select', options: ['validation', 'test'] });
    expect(paramDocs.svc.C).toEqual({ key: 'C', label: 'C', description: 'Penalty of the soft margin (scikit-learn default 1).', type: 'number', exclusiveMin: 0 });
    expect(paramDocs.svc.gamma).toMatchObject({ type: 'number-or-scale', options: ['scale'], exclusiveMin: 0 });
    expect(paramDocs.svc.maxIter).toMatchObject({ type: 'integer', min: -1 });
    expect(paramDocs.svc.maxIter!.max).toBeUndefined();
    expect(paramDocs.svc.shrinking!.type).toBe('boolean');
    expect(paramDocs.logreg.cGrid).toMatchObject({ type: 'number-list', exclusiveMin: 0, minItems: 1, maxItems: 100 });
  });

  it('refuses a field without a label', () => {
    const bare = { ...SPECS.knn, params: z.object({ k: z.number().default(1) }) };
    expect(() => describeKinds([bare])).toThrow(/knn\.k has no \.meta/);
  });
});

describe('classifiers.kinds', () => {
  it('describes the registry\'s specs, in the contract\'s order', async () => {
    const { allSpecs } = await import('./registry');
    expect(describeKinds(allSpecs())).toEqual(described);
  });
});
