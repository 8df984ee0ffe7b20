"""The files of a ``model/`` folder, and the forest as plain arrays and JSON.

A model folder holds the model (``model.npz`` for a forest, ``model.skops`` for gradient
boosting and for every model saved before ``model.npz``) and ``model_card.json``.
:func:`model_file` finds the model; this module imports nothing heavy, so the batch job and
the monitor can look at model folders without scikit-learn.

``model.npz`` is a zip archive of uncompressed members:

* ``meta.json``: the format and its version, the :class:`~syndicate.model.SellerClassifier`
  parameters, the classes, the number of features and the scikit-learn version that wrote it;
* ``nodes.npy``: every tree's nodes, tree after tree, in scikit-learn's node record
  (``sklearn.tree._tree.NODE_DTYPE``: children, feature, threshold, impurity, sample
  counts, where missing values go);
* ``values.npy``: every node's class fractions, ``(nodes, 1, classes)`` float64;
* ``offsets.npy``: where each tree's nodes start (int64, one more than the trees);
* ``depths.npy``: each tree's depth (int64).

Arrays are read with ``allow_pickle=False`` (NumPy parses their headers as literals and
refuses object arrays), members must be stored, not compressed (no zip bombs), and every
shape, dtype and count is checked before a tree is rebuilt; the nodes themselves are
bounds-checked by the caller (:func:`syndicate.model.load_model`) before anything predicts
with them. Writing is deterministic: the same forest gives the same bytes (fixed member
order and timestamps), so two identical runs write identical model files.

It replaces skops for the forest learner because skops costs 0.2–0.4 s to import (it walks
every scikit-learn estimator) and as much again to write, on every run. Gradient boosting,
whose fitted state is many more scikit-learn internals, is still saved with skops.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syndicate.errors import InputFileError

if TYPE_CHECKING:
    import numpy as np

    from syndicate.model import SellerClassifier

__all__ = [
    "CARD_FILE",
    "FOREST_FILE",
    "FOREST_FORMAT",
    "MODEL_FILE",
    "MODEL_FILES",
    "dump_forest",
    "load_forest",
    "model_file",
]

#: A forest's file (plain arrays and JSON).
FOREST_FILE = "model.npz"
#: A booster's file (skops), and every model saved before ``model.npz``.
MODEL_FILE = "model.skops"
#: The files a model folder may hold its model in, the one looked for first first.
MODEL_FILES = (FOREST_FILE, MODEL_FILE)
#: The model card: CV metrics, importances, label counts, feature names.
CARD_FILE = "model_card.json"

#: The ``format`` of ``meta.json``; the version is bumped when the layout changes.
FOREST_FORMAT = "syndicate-forest"
_VERSION = 1
_MEMBERS = ("meta.json", "nodes.npy", "values.npy", "offsets.npy", "depths.npy")
#: A fixed timestamp for every member (the zip format's earliest): identical bytes per model.
_EPOCH = (1980, 1, 1, 0, 0, 0)
#: The largest meta.json read (the parameters and classes are a few hundred bytes).
_MAX_META = 1 << 20


def model_file(folder: str | Path) -> Path | None:
    """The model file in a ``model/`` folder: ``model.npz``, else ``model.skops``; None if
    neither is there.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(model_file(tmp))
    None
    """
    for name in MODEL_FILES:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def _array_bytes(array: np.ndarray) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _stacked(parts: list[np.ndarray]) -> np.ndarray:
    """The parts one after another in their own record dtype, field by field into zeros, so
    the record's padding bytes are zeros (not whatever memory the trees had there)."""
    import numpy as np

    out = np.zeros(sum(len(part) for part in parts), dtype=parts[0].dtype)
    start = 0
    for part in parts:
        for name in part.dtype.names or ():
            out[name][start : start + len(part)] = part[name]
        start += len(part)
    return out


def dump_forest(estimator: SellerClassifier, path: str | Path) -> None:
    """Write a fitted random-forest :class:`~syndicate.model.SellerClassifier` to ``path``.

    The caller makes the write atomic (``path`` is a temporary file it renames).
    """
    import numpy as np
    import sklearn

    forest = estimator.forest_
    states = [tree.tree_.__getstate__() for tree in forest.estimators_]
    counts = [int(state["node_count"]) for state in states]
    meta = {
        "format": FOREST_FORMAT,
        "version": _VERSION,
        "params": estimator.get_params(),
        "classes": [int(c) for c in estimator.classes_.tolist()],
        "n_features": int(estimator.n_features_in_),
        "versions": {"scikit-learn": sklearn.__version__},
    }
    members = {
        "meta.json": json.dumps(meta, sort_keys=True).encode("utf-8"),
        # Into an array of the trees' own dtype (np.concatenate would pack the record,
        # dropping the padding that scikit-learn's node layout has).
        "nodes.npy": _array_bytes(
            _stacked([s["nodes"][:n] for s, n in zip(states, counts, strict=True)])
        ),
        "values.npy": _array_bytes(
            np.concatenate([s["values"][:n] for s, n in zip(states, counts, strict=True)])
        ),
        "offsets.npy": _array_bytes(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)),
        "depths.npy": _array_bytes(np.array([int(s["max_depth"]) for s in states], dtype=np.int64)),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in _MEMBERS:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if sorted(infos) != sorted(_MEMBERS):
                raise InputFileError(
                    f"{path}: not a forest file: its members are {sorted(infos)}, "
                    f"expected {list(_MEMBERS)}"
                )
            packed = [name for name, info in infos.items() if info.compress_type != 0]
            if packed:
                raise InputFileError(f"{path}: member {packed[0]!r} is compressed; refusing")
            if infos["meta.json"].file_size > _MAX_META:
                raise InputFileError(f"{path}: meta.json is too large; refusing")
            return {name: archive.read(name) for name in _MEMBERS}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputFileError(f"{path}: not a readable forest file ({exc})") from exc


def _array(data: bytes, name: str, path: Path) -> np.ndarray:
    import numpy as np

    try:
        return np.asarray(np.lib.format.read_array(io.BytesIO(data), allow_pickle=False))
    except (ValueError, OSError, EOFError) as exc:
        raise InputFileError(f"{path}: {name} is not a plain array ({exc}); refusing") from exc


def _meta(data: bytes, path: Path) -> Mapping[str, Any]:
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: meta.json is not JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FOREST_FORMAT:
        raise InputFileError(f"{path}: meta.json does not describe a {FOREST_FORMAT} file")
    if meta.get("version") != _VERSION:
        raise InputFileError(
            f"{path}: format version {meta.get('version')!r}; this syndicate reads {_VERSION}"
        )
    classes, n_features = meta.get("classes"), meta.get("n_features")
    ints = isinstance(classes, list) and all(
        isinstance(c, int) and not isinstance(c, bool) for c in classes
    )
    if not ints or not classes or sorted(set(classes)) != classes:
        raise InputFileError(f"{path}: classes must be distinct sorted integers; got {classes!r}")
    if not (isinstance(n_features, int) and not isinstance(n_features, bool) and n_features > 0):
        raise InputFileError(f"{path}: n_features must be a positive integer; got {n_features!r}")
    if not isinstance(meta.get("params"), dict):
        raise InputFileError(f"{path}: meta.json holds no parameters")
    return meta


def load_forest(path: str | Path) -> SellerClassifier:
    """Read a file written by :func:`dump_forest`; runs no code from it.

    Raises
    ------
    InputFileError
        The file is not such a file, a member is compressed or not a plain array, or a
        shape, dtype or count does not fit the others. (The nodes' children and features
        are checked by :func:`syndicate.model.load_model`.)
    """
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import NODE_DTYPE, Tree

    from syndicate.model import SellerClassifier

    source = Path(path)
    members = _read_members(source)
    meta = _meta(members["meta.json"], source)
    try:
        estimator = SellerClassifier(**meta["params"])
    except TypeError as exc:
        raise InputFileError(f"{source}: unknown model parameters ({exc}); refusing") from exc
    if estimator.learner != "random_forest":
        raise InputFileError(f"{source}: holds learner {estimator.learner!r}, not a forest")
    nodes = _array(members["nodes.npy"], "nodes.npy", source)
    values = _array(members["values.npy"], "values.npy", source)
    offsets = _array(members["offsets.npy"], "offsets.npy", source)
    depths = _array(members["depths.npy"], "depths.npy", source)
    classes = np.asarray(meta["classes"], dtype=np.int64)
    n_classes, n_features = len(classes), int(meta["n_features"])
    if nodes.dtype != NODE_DTYPE or nodes.ndim != 1:
        raise InputFileError(
            f"{source}: nodes.npy is not a list of scikit-learn {NODE_DTYPE} nodes (written by "
            f"scikit-learn {meta.get('versions', {}).get('scikit-learn')!r}?); refusing"
        )
    if values.dtype != np.float64 or values.shape != (len(nodes), 1, n_classes):
        raise InputFileError(
            f"{source}: values.npy must be float64 of shape {(len(nodes), 1, n_classes)}; "
            f"got {values.dtype} {values.shape}"
        )
    if not bool(np.all((values >= 0.0) & (values <= 1.0))):  # NaN fails too
        raise InputFileError(f"{source}: values.npy holds class fractions outside [0, 1]")
    n_trees = len(depths)
    steps = np.diff(offsets) if offsets.ndim == 1 else np.zeros(0)
    if not (
        offsets.dtype == np.int64
        and depths.dtype == np.int64
        and depths.ndim == 1
        and n_trees > 0
        and offsets.shape == (n_trees + 1,)
        and offsets[0] == 0
        and offsets[-1] == len(nodes)
        and bool(np.all(steps > 0))
        and bool(np.all(depths >= 0))
    ):
        raise InputFileError(f"{source}: the trees' offsets and depths do not fit the nodes")
    tree_classes = np.array([n_classes], dtype=np.intp)
    trees = []
    for number in range(n_trees):
        start, end = int(offsets[number]), int(offsets[number + 1])
        tree = Tree(n_features, tree_classes, 1)
        state = {
            "max_depth": int(depths[number]),
            "node_count": end - start,
            "nodes": np.ascontiguousarray(nodes[start:end]),
            "values": np.ascontiguousarray(values[start:end]),
        }
        try:
            tree.__setstate__(state)
        except (ValueError, MemoryError) as exc:
            raise InputFileError(f"{source}: tree {number} cannot be rebuilt ({exc})") from exc
        member = DecisionTreeClassifier()
        member.tree_ = tree
        member.n_features_in_ = n_features
        member.n_outputs_ = 1
        member.classes_ = classes
        member.n_classes_ = n_classes
        member.max_features_ = n_features
        trees.append(member)
    forest = RandomForestClassifier(n_estimators=n_trees)
    forest.estimators_ = trees
    forest.estimator_ = DecisionTreeClassifier()
    forest.classes_ = classes
    forest.n_classes_ = n_classes
    forest.n_outputs_ = 1
    forest.n_features_in_ = n_features
    estimator.forest_ = forest
    estimator.classes_ = classes
    estimator.n_features_in_ = n_features
    return estimator
