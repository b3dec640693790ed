"""Reasons: a model's score split into per-feature contributions, and each customer's largest ones.

``contributions`` gives, per customer, the prediction and the five largest
contributions (``TreePaths``, exact along each tree's decision path);
``reason_codes`` turns them into numbers only (a feature's index into a list of
labels, its value, a category's index into the same list), so that scoring can
COPY them in binary and the database builds the stored JSON.
"""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from tierwise.models.registry import ModelVersion, aligned

REASONS = 5
CHUNK = 50_000  # customers per pred_leaf call: 80 MB of leaf indexes for a 400-tree model


class TreePaths:
    """A model's score split exactly into per-feature contributions, along each tree's decision path.

    Every node of a LightGBM tree holds the model's expected raw score there; a
    split moves it by (child value - node value), and that move is credited to
    the split's feature.  Summed over a customer's path in every tree, the
    contributions plus the trees' root values give the raw score exactly (the
    "tree interpreter" decomposition).  LightGBM's own SHAP values
    (``pred_contrib``) give similar reasons but cost about 1.2 ms per customer
    for a 200-tree model (20 minutes per million); this costs 1,000 times less:
    one ``pred_leaf`` call and the product of the (sparse) leaf memberships with
    each leaf's path contributions.  Those are kept dense (leaves x features
    doubles, 4 MB for 400 trees of 31 leaves and 40 features): the product is
    then a sum of contiguous rows per customer, a quarter cheaper than a
    sparse-by-sparse product, in the same order (the same sums, bit for bit).
    """

    def __init__(self, booster) -> None:
        import scipy.sparse as sp

        rows, columns, deltas, offsets = [], [], [], []
        self.bias, total = 0.0, 0
        for tree in booster.dump_model()["tree_info"]:
            offsets.append(total)
            root = tree["tree_structure"]
            if "split_feature" not in root:  # a tree without a split (dumped as a bare leaf value)
                self.bias += root["leaf_value"]
                total += tree["num_leaves"]
                continue
            self.bias += root["internal_value"]
            stack = [(root, ())]
            while stack:
                node, path = stack.pop()
                for side in ("left_child", "right_child"):
                    child = node[side]
                    step = path + ((node["split_feature"],
                                    child.get("internal_value", child.get("leaf_value")) - node["internal_value"]),)
                    if "leaf_index" in child:
                        for feature, delta in step:
                            rows.append(total + child["leaf_index"])
                            columns.append(feature)
                            deltas.append(delta)
                    else:
                        stack.append((child, step))
            total += tree["num_leaves"]
        self.leaf_paths = sp.csr_matrix((deltas, (rows, columns)), shape=(total, booster.num_feature())).toarray()
        self.offsets = np.asarray(offsets, dtype=np.int32)
        self.booster = booster

    def explain(self, x: pd.DataFrame, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores and the (rows x features) contributions.

        The membership matrix is built from ``pred_leaf``'s int32 output as it is
        (int64 indices cost scipy a conversion pass), with a broadcast 1.0 for
        its values: a real array of ones is rows x trees doubles (320 MB per
        100,000 customers of a 400-tree model) and filling it took longer than
        the product itself.
        """
        import scipy.sparse as sp

        leaves = self.booster.predict(x, pred_leaf=True, num_threads=threads)
        leaves = np.asarray(leaves, dtype=np.int32).reshape(len(x), -1)
        n, trees = leaves.shape
        columns = (leaves + self.offsets).ravel()
        membership = sp.csr_matrix((np.broadcast_to(1.0, columns.shape), columns,
                                    np.arange(0, n * trees + 1, trees, dtype=np.int32)),
                                   shape=(n, self.leaf_paths.shape[0]), copy=False)
        contributions = membership @ self.leaf_paths
        return self.bias + contributions.sum(axis=1), contributions


_PATHS: dict[uuid.UUID, TreePaths] = {}


def contributions(version: ModelVersion, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions, and the indexes and values of the top contributions per row (largest magnitude first).

    In chunks, so that the leaf memberships of a large tenant are never all in
    memory; LightGBM's threads are chosen for the whole frame (the last chunk
    of a large tenant is no small job).
    """
    from tierwise.models.training import from_raw, started_from, threads_for

    paths = _PATHS.get(version.id)
    if paths is None:
        paths = _PATHS[version.id] = TreePaths(version.booster())
    x = aligned(x, version.columns)
    threads = threads_for(len(x))
    predictions = np.empty(len(x))
    top_index = np.empty((len(x), min(REASONS, len(version.columns))), dtype=np.int16)
    top_value = np.empty(top_index.shape)
    for start in range(0, len(x), CHUNK):
        part = x.iloc[start:start + CHUNK]
        raw, contrib = paths.explain(part, threads)
        rows = slice(start, start + len(part))
        predictions[rows] = from_raw(started_from(raw, part, version.params), version.params)
        top_index[rows] = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :top_index.shape[1]]
        top_value[rows] = np.take_along_axis(contrib, top_index[rows].astype(np.intp), axis=1)
    return predictions, top_index, top_value


def reason_codes(x: pd.DataFrame, columns: list[str], index: np.ndarray) -> tuple[list, np.ndarray, np.ndarray]:
    """The top reasons' values, as numbers the stage takes in binary: no text per customer.

    Returns the labels (the feature names, then every categorical feature's
    categories), the numeric value of each reason (NaN when missing or
    categorical) and the label of each categorical value (-1 for none).  The
    database looks the labels up while it assembles the JSON (``_reasons_sql``).
    """
    x = aligned(x, columns)
    labels, numeric = list(columns), np.full(index.shape, np.nan)
    text = np.full(index.shape, -1, dtype=np.int32)
    for j, column in enumerate(columns):
        chosen = index == j
        if not chosen.any():
            continue
        rows = np.nonzero(chosen)[0]
        if isinstance(x[column].dtype, pd.CategoricalDtype):
            codes = x[column].cat.codes.to_numpy().astype(np.int32)[rows]  # int8: 130 labels on would wrap
            text[chosen] = np.where(codes >= 0, codes + len(labels), -1)
            labels += list(x[column].cat.categories.astype("string"))
        else:
            numeric[chosen] = x[column].to_numpy(dtype=float)[rows]
    return labels, numeric, text
