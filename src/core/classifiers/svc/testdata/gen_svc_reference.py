"""Reference numbers for svc.test.ts, computed with scikit-learn's SVC() (libsvm).

Run from the project root with Debian's python3 (python3-sklearn, python3-numpy):
    /usr/bin/python3 src/core/classifiers/svc/testdata/gen_svc_reference.py
It writes svc-blobs.json and svc-cifar.json beside itself. The feature matrices are stored in the JSON
(float32 as base64, CIFAR pixels as uint8 base64) so that the TypeScript test and scikit-learn see the
same numbers. The CIFAR rows come from the fixture archive ../shared/fixtures/cifar/cifar-10-python.tar.gz
(read here with tarfile + pickle, so the test does not depend on the project's own pickle reader):
training batches 1-5 (100 images) and the test batch (20), pixels scaled to [0, 1] as float32.
"""
import base64
import json
import os
import pickle
import tarfile

import numpy as np
import sklearn
from sklearn.datasets import make_blobs
from sklearn.svm import SVC

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..'))


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def reference(Xtr, ytr, Xte, yte):
    m = SVC().fit(Xtr.astype(np.float64), ytr)
    m.set_params(decision_function_shape='ovo')
    dec = m.decision_function(Xte.astype(np.float64))
    return {
        'sklearn_version': sklearn.__version__,
        'gamma': float(m._gamma),
        'n_support': [int(v) for v in m.n_support_],
        'classes': [int(c) for c in m.classes_],
        'decision_ovo': np.asarray(dec, dtype=np.float64).reshape(len(Xte), -1).tolist(),
        'predict': [int(v) for v in m.predict(Xte.astype(np.float64))],
        'test_accuracy': float(m.score(Xte.astype(np.float64), yte)),
        # Platt scaling with libsvm's internal 5-fold CV; the folds depend on the random state, so
        # the TypeScript side (its own seeded folds) is compared with a tolerance.
        'predict_proba': SVC(probability=True, random_state=0).fit(Xtr.astype(np.float64), ytr)
        .predict_proba(Xte.astype(np.float64)).round(6).tolist(),
    }


def blobs():
    X, y = make_blobs(n_samples=2500, n_features=64, centers=4, cluster_std=16.0, random_state=0)
    X = X.astype(np.float32)
    Xtr, ytr, Xte, yte = X[:2000], y[:2000], X[2000:], y[2000:]
    out = {
        'recipe': 'make_blobs(n_samples=2500, n_features=64, centers=4, cluster_std=16, random_state=0), float32; first 2000 train, last 500 test',
        'dim': 64,
        'num_classes': 4,
        'train_x_f32': b64(Xtr), 'train_y': [int(v) for v in ytr],
        'test_x_f32': b64(Xte), 'test_y': [int(v) for v in yte],
        'sklearn': reference(Xtr, ytr, Xte, yte),
    }
    with open(os.path.join(HERE, 'svc-blobs.json'), 'w') as f:
        json.dump(out, f)


def cifar():
    path = os.path.join(ROOT, '..', 'shared', 'fixtures', 'cifar', 'cifar-10-python.tar.gz')
    xs, ys = {}, {}
    with tarfile.open(path, 'r:gz') as tar:
        for name in ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']:
            d = pickle.load(tar.extractfile('cifar-10-batches-py/' + name), encoding='bytes')
            xs[name] = np.asarray(d[b'data'], dtype=np.uint8)
            ys[name] = list(d[b'labels'])
    tr = ['data_batch_%d' % i for i in range(1, 6)]
    Xtr8 = np.concatenate([xs[n] for n in tr])
    ytr = np.array(sum((ys[n] for n in tr), []))
    Xte8, yte = xs['test_batch'], np.array(ys['test_batch'])
    scale = lambda a: (a.astype(np.float64) / 255.0).astype(np.float32)
    out = {
        'recipe': 'fixture cifar-10-python.tar.gz: batches 1-5 train (100), test_batch (20); uint8 pixels, features = float32(pixel / 255)',
        'dim': 3072,
        'num_classes': 10,
        'train_x_u8': b64(Xtr8), 'train_y': [int(v) for v in ytr],
        'test_x_u8': b64(Xte8), 'test_y': [int(v) for v in yte],
        'sklearn': reference(scale(Xtr8), ytr, scale(Xte8), yte),
    }
    with open(os.path.join(HERE, 'svc-cifar.json'), 'w') as f:
        json.dump(out, f)


if __name__ == '__main__':
    blobs()
    cifar()
