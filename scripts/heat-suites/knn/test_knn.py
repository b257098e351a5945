"""HeAT's first pytest-benchmark suite, the k-nearest-neighbours check of its pipeline's first
version (benchmarks/pytest-benchmarks/knn_benchmark), written anew for current HeAT: the same
workload (iris from HeAT's own datasets, one random fold of 30 training samples, k = 5, seed 1),
the dataset found through HeAT's package folder instead of pkg_resources, which Python 3.12's
setuptools no longer ships.
"""

import os
import random

import heat as ht
from heat.classification.kneighborsclassifier import KNeighborsClassifier

IRIS = os.path.join(os.path.dirname(ht.__file__), "datasets", "iris.h5")
X = ht.load_hdf5(IRIS, dataset="data", split=0)
Y = ht.array([label for label in range(3) for _ in range(50)], split=0)


def fold(x, y, size, seed):
    # The same seed on every rank: every rank must pick the same samples.
    random.seed(seed)
    order = list(range(len(x)))
    random.shuffle(order)
    train = ht.array(order[:size], split=0)
    test = ht.array(order[size:], split=0)
    parts = [x[train], y[train], x[test], y[test]]
    for part in parts:
        part.balance_()
    return parts


def knn_accuracy(x, y, size, k, seed):
    train_x, train_y, test_x, test_y = fold(x, y, size, seed)
    classifier = KNeighborsClassifier(k)
    classifier.fit(train_x, train_y)
    predicted = classifier.predict(test_x)
    return (ht.sum(ht.where(predicted == test_y, 1, 0)) / test_y.gshape[0]).item()


def test_knn(benchmark):
    assert 0.0 <= benchmark(knn_accuracy, X, Y, 30, 5, 1) <= 1.0
