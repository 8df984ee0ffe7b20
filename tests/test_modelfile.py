"""The forest's own file (``model.npz``): round trip, identical bytes, forged files refused."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from syndicate.errors import InputFileError
from syndicate.io import file_sha256
from syndicate.model import SellerClassifier, load_model
from syndicate.modelfile import CARD_FILE, FOREST_FILE, MODEL_FILE, dump_forest, model_file

X = np.array([[0.0, 1.0], [0.1, 0.0], [0.9, 1.0], [1.0, 0.0]] * 5)
Y = np.array([0, 0, 1, 1] * 5)


def _fitted(**params: Any) -> SellerClassifier:
    return SellerClassifier(n_estimators=10, **params).fit(X, Y)


def _folder(estimator: SellerClassifier, folder: Path) -> Path:
    """A model folder holding ``estimator`` as ``model.npz`` and an empty card."""
    folder.mkdir()
    dump_forest(estimator, folder / FOREST_FILE)
    (folder / CARD_FILE).write_text("{}", encoding="utf-8")
    return folder


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path: Path, members: dict[str, bytes], compress: str | None = None) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name == compress else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_a_forest_round_trips_and_predicts_the_same(tmp_path: Path) -> None:
    written = _fitted(min_samples_leaf=2, max_samples=12)
    loaded, card = load_model(_folder(written, tmp_path / "model"))
    assert card == {}
    assert loaded.get_params() == written.get_params()
    assert np.array_equal(loaded.predict_proba(X), written.predict_proba(X))
    assert loaded.predict([[0.0, 1.0], [1.0, 0.0]]).tolist() == [0, 1]
    assert np.array_equal(loaded.feature_importances_, written.feature_importances_)


def test_the_same_forest_writes_the_same_bytes(tmp_path: Path) -> None:
    # Fixed member order and timestamps: two identical runs write identical model files.
    first, second = _fitted(), _fitted()
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    dump_forest(first, a)
    dump_forest(second, b)
    assert file_sha256(a) == file_sha256(b)
    with zipfile.ZipFile(a) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "meta.json",
        "nodes.npy",
        "values.npy",
        "offsets.npy",
        "depths.npy",
    ]
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}


def test_model_file_prefers_the_forest_file(tmp_path: Path) -> None:
    assert model_file(tmp_path) is None
    (tmp_path / MODEL_FILE).write_bytes(b"")
    assert model_file(tmp_path) == tmp_path / MODEL_FILE
    (tmp_path / FOREST_FILE).write_bytes(b"")
    assert model_file(tmp_path) == tmp_path / FOREST_FILE


@pytest.mark.parametrize(
    ("array", "node", "value"),
    [
        ("children_left", "split", lambda count, n_features: count),  # past the last node
        ("children_left", "split", lambda count, n_features: 0),  # back to the root
        ("children_right", "leaf", lambda count, n_features: 1),  # a leaf with a right child
        ("feature", "split", lambda count, n_features: n_features),  # past the last column
    ],
)
def test_a_malformed_tree_in_the_forest_file_is_refused(
    tmp_path: Path, array: str, node: str, value: Any
) -> None:
    estimator = _fitted()
    nodes = estimator.forest_.estimators_[3].tree_
    at = 0 if node == "split" else int(np.flatnonzero(nodes.children_left == -1)[0])
    getattr(nodes, array)[at] = value(nodes.node_count, estimator.n_features_in_)
    folder = _folder(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match="tree 3 is malformed"):
        load_model(folder)  # never predict here: a cycle would hang


def _forged_meta(change: dict[str, Any]) -> Any:
    def forge(members: dict[str, bytes]) -> None:
        meta = json.loads(members["meta.json"])
        for key, value in change.items():
            if key.startswith("params."):
                meta["params"][key.removeprefix("params.")] = value
            else:
                meta[key] = value
        members["meta.json"] = json.dumps(meta).encode()

    return forge


def _member(name: str, data: bytes) -> Any:
    def forge(members: dict[str, bytes]) -> None:
        members[name] = data

    return forge


def _values(value: float) -> Any:
    def forge(members: dict[str, bytes]) -> None:
        values = np.lib.format.read_array(io.BytesIO(members["values.npy"])).copy()
        values[3, 0, 1] = value
        members["values.npy"] = _npy(values)

    return forge


def _drop(name: str) -> Any:
    def forge(members: dict[str, bytes]) -> None:
        del members[name]

    return forge


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (_forged_meta({"format": "pickle"}), "does not describe a syndicate-forest file"),
        (_forged_meta({"version": 2}), "format version 2; this syndicate reads 1"),
        (_forged_meta({"classes": [1, 0]}), "classes must be distinct sorted integers"),
        (_forged_meta({"n_features": 0}), "n_features must be a positive integer"),
        (_forged_meta({"params.evil": 1}), "unknown model parameters"),
        (_forged_meta({"params.learner": "gradient_boosting"}), "not a forest"),
        (_forged_meta({"params.n_jobs": 10**9}), "n_jobs must be a non-zero integer"),
        (_forged_meta({"n_features": 1}), "tree [0-9]+ is malformed"),  # splits on column 1
        (_member("meta.json", b"{not json"), "meta.json is not JSON"),
        (_member("offsets.npy", _npy(np.array([0, 5, 3], dtype=np.int64))), "offsets"),
        (_member("depths.npy", _npy(np.array([1.5] * 10))), "offsets and depths"),
        (_member("values.npy", _npy(np.zeros((2, 1, 2)))), "values.npy must be float64"),
        (_values(np.nan), "class fractions outside"),
        (_values(2.0), "class fractions outside"),
        (_member("nodes.npy", _npy(np.zeros(4, dtype=np.int64))), "nodes.npy is not a list"),
        (_member("extra.npy", _npy(np.zeros(1))), "its members are"),
        (_drop("depths.npy"), "its members are"),
    ],
)
def test_a_forged_forest_file_is_refused(tmp_path: Path, forge: Any, message: str) -> None:
    folder = _folder(_fitted(), tmp_path / "model")
    members = _members(folder / FOREST_FILE)
    forge(members)
    _rewrite(folder / FOREST_FILE, members)
    with pytest.raises(InputFileError, match=message):
        load_model(folder)


TRIPWIRE: list[object] = []


class Tripwire:
    """Records any attempt to rebuild it: loading a forged file must not."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (TRIPWIRE.append, ("unpickled",))


def test_a_pickle_inside_the_forest_file_is_never_loaded(tmp_path: Path) -> None:
    folder = _folder(_fitted(), tmp_path / "model")
    members = _members(folder / FOREST_FILE)
    payload = np.empty(1, dtype=object)
    payload[0] = Tripwire()
    members["nodes.npy"] = _npy(payload)
    assert b"append" in pickle.dumps(payload[0])  # the payload would call TRIPWIRE.append
    _rewrite(folder / FOREST_FILE, members)
    TRIPWIRE.clear()
    with pytest.raises(InputFileError, match=r"nodes\.npy is not a plain array"):
        load_model(folder)
    assert TRIPWIRE == []


def test_a_compressed_member_is_refused(tmp_path: Path) -> None:
    # Stored members only: a compressed one could unpack to far more than the file holds.
    folder = _folder(_fitted(), tmp_path / "model")
    members = _members(folder / FOREST_FILE)
    _rewrite(folder / FOREST_FILE, members, compress="values.npy")
    with pytest.raises(InputFileError, match=r"'values\.npy' is compressed; refusing"):
        load_model(folder)


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    folder = _folder(_fitted(), tmp_path / "model")
    (folder / FOREST_FILE).write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputFileError, match="not a readable forest file"):
        load_model(folder)
