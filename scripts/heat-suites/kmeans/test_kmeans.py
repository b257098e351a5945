"""KMeans fit on data split by rows: distances, labels and centroid updates across ranks."""

import heat as ht

SAMPLES, FEATURES, CLUSTERS = 20_000, 8, 4


def fit(data):
    return ht.cluster.KMeans(n_clusters=CLUSTERS, init="random", max_iter=20, random_state=1).fit(data)


def test_kmeans_fit(benchmark):
    ht.random.seed(1)
    centres = ht.array([[4.0 * c] * FEATURES for c in range(CLUSTERS)])
    data = ht.random.randn(SAMPLES, FEATURES, split=0) + ht.repeat(centres, SAMPLES // CLUSTERS, axis=0).resplit_(0)
    model = benchmark(fit, data)
    assert model.cluster_centers_.gshape == (CLUSTERS, FEATURES)
