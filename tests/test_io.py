"""Atomic writes: a reader never sees half a file, a failure leaves the earlier file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from syndicate.io import atomic_path, write_json_atomic, write_parquet_atomic


def test_failed_write_leaves_the_earlier_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "labels.parquet"
    write_parquet_atomic(pl.DataFrame({"seller_id": ["a"]}), target)
    with pytest.raises(RuntimeError, match="crash"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("crash")
    assert pl.read_parquet(target)["seller_id"].to_list() == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["labels.parquet"]  # no temporary left over


def test_rewrite_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "run.json"
    write_json_atomic({"b": 1, "a": [1, 2]}, target)
    write_json_atomic({"b": 2}, target)
    assert target.read_text() == '{\n  "b": 2\n}\n'
