import { describe, expect, it } from 'vitest';
import { CLASSIFIER_KINDS, DEFAULT_C_GRID, defaultParams, paramDocs, parseParams } from './classifier-params';

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
