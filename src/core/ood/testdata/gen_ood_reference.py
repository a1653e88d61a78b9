"""Reference values for src/core/ood/ood-metrics.test.ts, made with scikit-learn (run by hand; CI has no Python).

    /usr/bin/python3 src/core/ood/testdata/gen_ood_reference.py > src/core/ood/testdata/ood-reference.json

Cases: seeded Gaussian in/out scores, the same rounded to 1 decimal (many ties), a perfectly separated
pair, and a tiny hand-checkable one. For each: the scores, roc_auc_score, average_precision_score with
in as positive and with out as positive (on -score), and FPR@95 = fpr[np.searchsorted(tpr, 0.95)] on
roc_curve(drop_intermediate=False).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.covariance import ledoit_wolf
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def case(name, s_in, s_out):
    s_in = [float(v) for v in s_in]
    s_out = [float(v) for v in s_out]
    y = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    s = np.r_[s_in, s_out]
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return {
        "name": name,
        "in": s_in,
        "out": s_out,
        "auroc": float(roc_auc_score(y, s)),
        "aupr_in": float(average_precision_score(y, s)),
        "aupr_out": float(average_precision_score(1 - y, -s)),
        "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
    }


rng = np.random.default_rng(16)
a = rng.normal(1.0, 1.0, 700)
b = rng.normal(0.0, 1.2, 450)
cases = [
    case("gaussian", a, b),
    case("gaussian-ties", np.round(a, 1), np.round(b, 1)),
    case("separated", rng.uniform(2, 3, 50), rng.uniform(0, 1, 80)),
    case("tiny", [0.9, 0.8, 0.8, 0.3], [0.8, 0.5, 0.1]),
]
# Mahalanobis score: class means, class-centred rows, ledoit_wolf(assume_centered=True), minus the
# smallest squared distance to a class mean.
X = rng.normal(0, 1, (90, 6)) * np.array([1, 2, 0.5, 1, 3, 1]) + np.repeat(rng.normal(0, 2, (3, 6)), 30, axis=0)
y = np.repeat(np.arange(3), 30)
Q = rng.normal(0, 2.5, (12, 6))
means = np.stack([X[y == c].mean(0) for c in range(3)])
cov, shrink = ledoit_wolf(X - means[y], assume_centered=True)
P = np.linalg.inv(cov)
d = np.stack([np.einsum("ij,jk,ik->i", Q - m, P, Q - m) for m in means], 1)
maha = {"X": X.astype(np.float32).tolist(), "y": y.tolist(), "Q": Q.astype(np.float32).tolist(), "shrinkage": float(shrink), "score": (-d.min(1)).tolist()}
json.dump({"sklearn": sklearn.__version__, "cases": cases, "mahalanobis": maha}, sys.stdout, indent=1)
sys.stdout.write("\n")
