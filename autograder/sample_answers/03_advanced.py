"""Bob's mistake in 03_advanced: the neighbourhood preservation counts each point as its own neighbour.

test_preservation's visible test catches it (four points whose nearest neighbours all change must score 0 at
k=1, and bob's free self-match gives 1), and so do its hidden tests; test_projections ranks the projections with
a reference score, so it still passes. The mistake costs exactly test_preservation's 2 points.
"""
CELL = "projection"
LOSES = 2  # test_preservation
SOURCE = '''\
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
import umap


def neighbourhood_preservation(X_high, X_low, k=10):
    def knn(X):
        X = np.asarray(X, dtype=np.float64)
        D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1)
        return np.argsort(D, axis=1)[:, :k]  # the point itself comes first, at distance 0

    high, low = knn(X_high), knn(X_low)
    return float(np.mean([len(set(h) & set(l)) / k for h, l in zip(high, low)]))


def project_2d(X, method, seed=0):
    X = np.asarray(X, dtype=np.float32)
    if method == "pca":
        return PCA(n_components=2).fit_transform(X)
    if method == "tsne":
        return TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(X)
    if method == "umap":
        return umap.UMAP(n_components=2, random_state=seed, n_neighbors=15, n_jobs=1).fit_transform(X)
    raise ValueError(f"unknown method {method!r}")
'''
