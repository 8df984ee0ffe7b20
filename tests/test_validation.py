"""The data contract: errors that stop a run, rows that are refused, types that are fixed."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate import Config, InputFileError, SchemaError, build_linkage, load_inputs
from syndicate.validation import REJECT_REASONS

SELLERS = pl.DataFrame({"seller_id": ["a", "b", "c"], "created_at": ["2024-01-01"] * 3})
LINKS = pl.DataFrame(
    {"seller_id": ["a", "b", "c"], "kind": ["device"] * 3, "value": ["d1", "d1", "d2"]}
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# Bad inputs that stop a run: (id, builder of load_inputs kwargs from tmp_path, message)

GOOD_LINKS_CSV = "seller_id,kind,value\na,device,d1\nb,device,d1\n"


def _files(
    sellers: str | bytes, links: str | bytes = GOOD_LINKS_CSV, **extra: str | bytes
) -> Callable[[Path], dict[str, Any]]:
    def build(tmp_path: Path) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "sellers": write(tmp_path, "sellers.csv", sellers),
            "links": write(tmp_path, "links.csv", links),
        }
        for table, text in extra.items():
            kwargs[table] = write(tmp_path, f"{table}.csv", text)
        return kwargs

    return build


STOPPING_INPUTS: list[tuple[str, Callable[[Path], dict[str, Any]], type[Exception], str]] = [
    (
        "missing file",
        lambda p: {"sellers": p / "nope.parquet", "links": LINKS},
        InputFileError,
        r"sellers file '.*nope\.parquet' does not exist",
    ),
    (
        "unknown extension",
        lambda p: {"sellers": write(p, "sellers.xlsx", "x"), "links": LINKS},
        InputFileError,
        r"sellers file '.*sellers\.xlsx': unsupported extension '\.xlsx'; syndicate reads "
        r"\.csv, \.jsonl, \.ndjson, \.parquet, \.pq",
    ),
    (
        "all missing columns in one message",
        _files("seller_id\na\nb\n", links="seller,Kind\na,device\n"),
        SchemaError,
        r"links file '.*links\.csv': missing required columns 'seller_id', 'kind', 'value' "
        r"\(found: 'seller', 'Kind'\); did you mean 'seller' for 'seller_id', 'Kind' for 'kind'\?",
    ),
    (
        "label not 0/1 in labels",
        _files("seller_id\na\nb\n", labels="seller_id,label\na,1\nb,yes\na,2\n"),
        SchemaError,
        r"labels file '.*labels\.csv': column 'label' must be 0 or 1 \(1 = known bad, 0 = known "
        r"good\); got rows 1 \('yes'\), 2 \('2'\)",
    ),
    (
        "label not 0/1 in sellers",
        lambda p: {
            "sellers": pl.DataFrame({"seller_id": ["a", "b"], "label": [0, 3]}),
            "links": LINKS,
        },
        SchemaError,
        r"sellers \(Polars DataFrame\): column 'label' must be 0 or 1 .*got rows 1 \(3\)",
    ),
    (
        "unparseable created_at",
        _files("seller_id,created_at\na,2024-01-01\nb,yesterday\nc,2024-13-45\n"),
        SchemaError,
        r"sellers file '.*sellers\.csv': column 'created_at' has values that are not datetimes at "
        r"rows 1 \('yesterday'\), 2 \('2024-13-45'\)",
    ),
    (
        "created_at of a wrong type",
        lambda p: {
            "sellers": pl.DataFrame({"seller_id": ["a"], "created_at": [1.5]}),
            "links": LINKS,
        },
        SchemaError,
        r"column 'created_at' must be a datetime, a date or ISO-8601 text .*got dtype Float64",
    ),
    (
        "non-UTF-8 CSV",
        _files(b"seller_id,name\na,ok\nb,caf\xe9\n"),
        InputFileError,
        r"sellers file '.*sellers\.csv' is not valid UTF-8 at line 3 "
        r"\(byte 25: b'\\xe9'\); re-encode it",
    ),
    (
        "unreadable CSV",
        _files('seller_id,name\na,"unterminated\n'),
        InputFileError,
        r"sellers file '.*sellers\.csv' cannot be read as csv",
    ),
    (
        "corrupt Parquet",
        lambda p: {"sellers": write(p, "sellers.parquet", b"not parquet at all"), "links": LINKS},
        InputFileError,
        r"sellers file '.*sellers\.parquet' cannot be read as parquet",
    ),
    (
        "empty sellers table",
        _files("seller_id\n"),
        SchemaError,
        r"sellers file '.*sellers\.csv': table has no rows; at least one row is required",
    ),
    (
        "empty links table",
        _files("seller_id\na\n", links="seller_id,kind,value\n"),
        SchemaError,
        r"links file '.*links\.csv': table has no rows",
    ),
    (
        "no valid sellers left",
        _files('seller_id\n""\n  \n'),
        SchemaError,
        r"sellers file '.*sellers\.csv': table has no valid seller rows after refusing bad rows",
    ),
    (
        "fractional seller ids",
        lambda p: {"sellers": pl.DataFrame({"seller_id": [1.0, 2.5]}), "links": LINKS},
        SchemaError,
        r"column 'seller_id' must hold integer or string ids; "
        r"got non-integer numbers at rows 1 \(2\.5\)",
    ),
    (
        "non-numeric edge weight",
        _files("seller_id\na\nb\n", edges="src,dst,weight\na,b,heavy\n"),
        SchemaError,
        r"edges file '.*edges\.csv': column 'weight' must be numeric; got rows 0 \('heavy'\)",
    ),
    (
        "not a table",
        lambda p: {"sellers": [1, 2, 3], "links": LINKS},
        SchemaError,
        r"sellers: expected a file path, a Polars DataFrame/LazyFrame or a pandas DataFrame; "
        r"got list",
    ),
    (
        "infinite float ids",
        lambda p: {"sellers": pl.DataFrame({"seller_id": [1.0, float("inf")]}), "links": LINKS},
        SchemaError,
        r"column 'seller_id' must hold integer or string ids; got non-integer numbers at rows 1",
    ),
    (
        "repeated CSV column",
        _files("seller_id\na\nb\n", links="seller_id,kind,value,value\na,ip,1,2\n"),
        SchemaError,
        r"links file '.*links\.csv': column name 'value' appears more than once in the header",
    ),
    (
        "Python objects",
        lambda p: {
            "sellers": pl.DataFrame(
                {"seller_id": ["a"], "o": [object()]}, schema_overrides={"o": pl.Object}
            ),
            "links": LINKS,
        },
        SchemaError,
        r"column 'o' holds Python objects",
    ),
    (
        "list-typed relation",
        lambda p: {
            "sellers": SELLERS,
            "links": LINKS,
            "edges": pl.DataFrame({"src": ["a"], "dst": ["b"], "relation": [["x"]]}),
        },
        SchemaError,
        r"edges \(Polars DataFrame\): column 'relation' must be text; got dtype List",
    ),
    (
        "reserved column name",
        lambda p: {
            "sellers": pl.DataFrame({"seller_id": ["a"], "__syndicate_bad__": [1]}),
            "links": LINKS,
        },
        SchemaError,
        r"column names starting with '__syndicate_' are reserved",
    ),
    (
        "failing LazyFrame",
        lambda p: {"sellers": pl.scan_csv(p / "missing.csv"), "links": LINKS},
        InputFileError,
        r"sellers \(Polars LazyFrame\) cannot be collected",
    ),
    (
        "bad NDJSON",
        lambda p: {
            "sellers": write(p, "sellers.ndjson", '{"seller_id": 1}\nnot json\n'),
            "links": LINKS,
        },
        InputFileError,
        r"sellers file '.*sellers\.ndjson' cannot be read as ndjson",
    ),
    (
        "infinite tabular value",
        _files("seller_id,gmv\na,1.5\nb,inf\nc,-inf\n"),
        SchemaError,
        r"sellers file '.*sellers\.csv': column 'gmv' holds infinite or too large values "
        r"\(beyond ±3\.4e\+38\) in rows 1 \(inf\), 2 \(-inf\)",
    ),
    (
        "tabular value beyond float32",
        lambda p: {
            "sellers": pl.DataFrame({"seller_id": ["a", "b"], "gmv": [1.0, 1e39]}),
            "links": LINKS,
        },
        SchemaError,
        r"sellers \(Polars DataFrame\): column 'gmv' holds infinite or too large values "
        r".* in rows 1 \(1e\+39\)",
    ),
]


def test_nan_in_a_tabular_column_means_missing() -> None:
    sellers = pl.DataFrame({"seller_id": ["a", "b"], "gmv": [float("nan"), 2.0]})
    inputs = load_inputs(sellers, LINKS.head(2))
    assert inputs.sellers["gmv"].to_list() == [None, 2.0]
    assert inputs.rejects.height == 0


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [case[1:] for case in STOPPING_INPUTS],
    ids=[case[0] for case in STOPPING_INPUTS],
)
def test_bad_input_stops_the_run_naming_the_culprit(
    tmp_path: Path, build: Callable[[Path], dict[str, Any]], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        load_inputs(**build(tmp_path))


def test_binary_columns_become_hex_text_and_refused_rows_keep_them() -> None:
    sellers = pl.DataFrame({"seller_id": ["a", None, "b"], "blob": [b"\x01", b"\x02", b"\xff"]})
    inputs = load_inputs(sellers, LINKS.head(2))
    assert inputs.sellers["blob"].to_list() == ["01", "ff"]
    assert inputs.rejects["record"].to_list() == ['{"seller_id":null,"blob":"02"}']


def test_edges_are_undirected_case_folded_and_default_their_weight(tmp_path: Path) -> None:
    edges = pl.DataFrame(
        {
            "src": ["a", "b", "a"],
            "dst": ["b", "a", "c"],
            "relation": ["Referral", "referral", " REFERRAL"],
            "weight": [2.0, 2.0, None],
        }
    )
    inputs = load_inputs(SELLERS, LINKS, edges=edges)
    # (b, a) repeats (a, b); a null weight is the default 1.0.
    assert inputs.edges.rows() == [("a", "b", "referral", 2.0), ("a", "c", "referral", 1.0)]
    assert inputs.reject_counts() == {"edges": {"duplicate_row": 1}}
    header_only = write(tmp_path, "edges.csv", "src,dst,relation,weight\n")
    assert load_inputs(SELLERS, LINKS, edges=header_only).edges.height == 0


def test_categorical_columns_are_text() -> None:
    links = LINKS.with_columns(
        pl.col("kind").cast(pl.Categorical), pl.col("value").cast(pl.Categorical)
    )
    assert load_inputs(
        SELLERS.with_columns(pl.col("seller_id").cast(pl.Categorical)), links
    ).links.equals(load_inputs(SELLERS, LINKS).links)


def test_a_pandas_series_is_not_a_table() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(SchemaError, match=r"sellers: expected a file path.*got Series"):
        load_inputs(pd.Series([1, 2]), LINKS)


def test_input_errors_are_value_errors() -> None:
    # Callers that catch ValueError keep working.
    with pytest.raises(ValueError, match="missing required column 'seller_id'"):
        load_inputs(pl.DataFrame({"id": [1]}), LINKS)


def test_long_lists_of_offending_rows_are_cut() -> None:
    labels = pl.DataFrame({"seller_id": ["a"] * 8, "label": [5] * 8})
    with pytest.raises(
        SchemaError, match=r"rows 0 \(5\), 1 \(5\), 2 \(5\), 3 \(5\), 4 \(5\) and 3 more"
    ):
        load_inputs(SELLERS, LINKS, labels=labels)


# ---------------------------------------------------------------------------------------
# Row-level problems: refused, counted, written down


def test_row_level_problems_are_refused_with_a_reason() -> None:
    sellers = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c", None, "  ", "a", "c"],
            "listings": [1, 2, 3, 4, 5, 1, 9],
        }
    )
    links = pl.DataFrame(
        {
            "seller_id": ["a", "b", "a", "x", None, "b", "c", "c"],
            "kind": ["device", "Device ", "device", "ip", "ip", "", "email", "email"],
            "value": ["d1", "d1", "d1", "1.1.1.1", "2.2.2.2", "v", "  ", None],
        }
    )
    edges = pl.DataFrame(
        {
            "src": ["a", "a", "a", "a", "b", "a"],
            "dst": ["b", "a", "x", "b", "c", "c"],
            "weight": [1.0, 1.0, 1.0, 1.0, -2.0, float("nan")],
        }
    )
    labels = pl.DataFrame(
        {
            "seller_id": ["a", "b", "b", "zz", "c", "c", None, "a"],
            "label": [1, 0, 1, 1, 0, None, 1, 1],
            "source": ["chargeback", "kyc", "chargeback", "x", "kyc", "kyc", "x", "manual"],
        }
    )
    inputs = load_inputs(sellers, links, edges, labels)
    assert inputs.reject_counts() == {
        "sellers": {"duplicate_row": 1, "duplicate_seller_id": 1, "null_seller_id": 2},
        "links": {
            "duplicate_row": 1,  # row 2 repeats row 0
            "null_kind": 1,
            "null_seller_id": 1,
            "null_value": 2,  # blank and null
            "unknown_seller": 1,
        },
        "edges": {"duplicate_row": 1, "invalid_weight": 2, "self_loop": 1, "unknown_seller": 1},
        "labels": {
            "conflicting_label": 2,  # b is both 0 and 1
            "duplicate_label": 1,  # a: 1 from 'chargeback' and 1 from 'manual'
            "null_label": 1,
            "null_seller_id": 1,
            "unknown_seller": 1,
        },
    }
    # Case and spaces of kind are folded, so 'Device ' of b is a device link.
    assert inputs.links.rows() == [("a", "device", "d1", "d1"), ("b", "device", "d1", "d1")]
    # Of the two rows of c, the one that sorts first over all columns is kept.
    assert inputs.sellers.rows() == [("a", 1), ("b", 2), ("c", 3)]
    assert inputs.edges.rows() == [("a", "b", "edge", 1.0)]
    assert inputs.labels.rows() == [("a", 1, "chargeback"), ("c", 0, "kyc")]
    # Every refused row is written down with its position and its content.
    refused = inputs.rejects.filter(
        pl.col("table") == "sellers", pl.col("reason") == "duplicate_seller_id"
    )
    assert refused.select("row", "seller_id", "record").rows() == [
        (6, "c", '{"seller_id":"c","listings":9}')
    ]
    total_in = sellers.height + links.height + edges.height + labels.height
    total_out = (
        inputs.sellers.height + inputs.links.height + inputs.edges.height + inputs.labels.height
    )
    assert total_out + inputs.rejects.height == total_in  # nothing is lost silently


def test_sellers_label_column_becomes_labels_and_agrees_with_the_labels_table() -> None:
    sellers = pl.DataFrame({"seller_id": ["a", "b", "c"], "label": [1, None, 0]})
    labels = pl.DataFrame({"seller_id": ["a", "c"], "label": [1, 1]})
    inputs = load_inputs(sellers, LINKS, labels=labels)
    assert "label" not in inputs.sellers.columns  # a label never rides along as a feature
    assert inputs.labels.rows() == [("a", 1, "labels")]
    # a: 1 in both places; the row with the smaller source ('labels' < 'sellers') is kept.
    # c: 0 in sellers, 1 in labels: both rows are refused.
    # Refused labels of the sellers table are filed as 'sellers.label': the sellers row stays.
    assert inputs.reject_counts() == {
        "labels": {"conflicting_label": 1},
        "sellers.label": {"conflicting_label": 1, "duplicate_label": 1},
    }
    assert inputs.sellers.height == sellers.height


def test_label_spellings_are_accepted() -> None:
    sellers = pl.DataFrame({"seller_id": list("abcdef")})
    labels = pl.DataFrame(
        {"seller_id": list("abcdef"), "label": ["1", "0", "true", "FALSE", " 1.0 ", "0.0"]}
    )
    inputs = load_inputs(sellers, LINKS.filter(pl.col("seller_id") != "c"), labels=labels)
    assert inputs.labels["label"].to_list() == [1, 0, 1, 0, 1, 0]
    assert inputs.labels.schema["label"] == pl.Int8


# ---------------------------------------------------------------------------------------
# Types and formats


def test_integer_ids_become_strings_everywhere() -> None:
    inputs = load_inputs(
        pl.DataFrame({"seller_id": [10, 2, 3]}),
        pl.DataFrame(
            {"seller_id": [10, 2], "kind": ["phone", "phone"], "value": [5551234, 5551234]}
        ),
        edges=pl.DataFrame({"src": [10], "dst": [3]}),
        labels=pl.DataFrame({"seller_id": [2], "label": [True]}),
    )
    assert inputs.sellers.schema["seller_id"] == pl.String
    assert inputs.sellers["seller_id"].to_list() == ["10", "2", "3"]  # sorted as text
    assert inputs.links.select("seller_id", "kind", "value").rows() == [
        ("10", "phone", "5551234"),
        ("2", "phone", "5551234"),
    ]
    assert inputs.edges.rows() == [("10", "3", "edge", 1.0)]
    assert inputs.labels.rows() == [("2", 1, "labels")]


def test_csv_keeps_leading_zeros_of_ids(tmp_path: Path) -> None:
    sellers = write(tmp_path, "s.csv", "seller_id,gmv\n007,1.5\n010,2\n")
    links = write(tmp_path, "l.csv", "seller_id,kind,value\n007,phone,0044123\n010,phone,0044123\n")
    inputs = load_inputs(sellers, links)
    assert inputs.sellers.rows() == [("007", 1.5), ("010", 2.0)]
    assert inputs.links["value"].to_list() == ["0044123", "0044123"]


def test_pandas_float_ids_from_missing_values_are_accepted() -> None:
    pd = pytest.importorskip("pandas")
    sellers = pd.DataFrame({"seller_id": [1.0, 2.0, None], "gmv": [1.0, 2.0, 3.0]})
    inputs = load_inputs(
        sellers, pd.DataFrame({"seller_id": [1, 2], "kind": ["ip", "ip"], "value": ["x", "x"]})
    )
    assert inputs.sellers["seller_id"].to_list() == ["1", "2"]
    assert inputs.reject_counts() == {"sellers": {"null_seller_id": 1}}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson", ".jsonl"])
def test_every_format_gives_the_same_tables(tmp_path: Path, suffix: str) -> None:
    sellers = pl.DataFrame(
        {"seller_id": ["b", "a"], "created_at": ["2024-01-02T03:04:05Z", "2024-01-01"]}
    )
    paths = {}
    for name, frame in {"sellers": sellers, "links": LINKS.head(2)}.items():
        path = tmp_path / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.write_parquet(path)
        elif suffix == ".csv":
            frame.write_csv(path)
        else:
            frame.write_ndjson(path)
        paths[name] = path
    inputs = load_inputs(**paths)
    expected = load_inputs(sellers, LINKS.head(2))
    assert inputs.sellers.equals(expected.sellers)
    assert inputs.links.equals(expected.links)
    assert inputs.sellers["created_at"].dt.hour().to_list() == [0, 3]


def test_time_zones_are_converted_to_utc() -> None:
    sellers = pl.DataFrame(
        {"seller_id": ["a", "b"], "created_at": ["2024-01-01T12:00:00+02:00", "2024-01-01 12:00"]}
    )
    inputs = load_inputs(sellers, LINKS.head(2))
    assert [t.hour for t in inputs.sellers["created_at"]] == [10, 12]
    assert inputs.sellers.schema["created_at"] == pl.Datetime("us")


def test_optional_tables_default_to_empty_with_their_schema() -> None:
    inputs = load_inputs(SELLERS, LINKS)
    assert inputs.edges.schema == pl.Schema(
        {"src": pl.String, "dst": pl.String, "relation": pl.String, "weight": pl.Float64}
    )
    assert inputs.labels.height == 0
    assert inputs.rejects.height == 0


# ---------------------------------------------------------------------------------------
# Determinism: row order of the inputs never matters

ids = st.sampled_from(["a", "b", "c", "d", "e", "", None])
link_rows = st.lists(
    st.tuples(
        ids,
        st.sampled_from(["device", "IP", " email", ""]),
        st.sampled_from(["x", "y", "z", " ", None]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(rows=link_rows, data=st.data())
def test_row_order_does_not_change_the_tables(
    rows: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    sellers = pl.DataFrame(
        {"seller_id": ["a", "b", "c", "d", "a"], "gmv": [1.0, 2.0, 3.0, 4.0, 0.5]}
    )
    links = pl.DataFrame(rows, schema=["seller_id", "kind", "value"], orient="row")
    shuffled_links = links[data.draw(st.permutations(range(links.height)))]
    shuffled_sellers = sellers[data.draw(st.permutations(range(sellers.height)))]
    first = load_inputs(sellers, links)
    second = load_inputs(shuffled_sellers, shuffled_links)
    assert first.sellers.equals(second.sellers)
    assert first.links.equals(second.links)
    # The same rows are refused for the same reasons (only their positions differ).
    assert first.reject_counts() == second.reject_counts()
    assert sorted(first.rejects["record"].to_list()) == sorted(second.rejects["record"].to_list())
    assert (
        first.links.height + first.rejects.filter(pl.col("table") == "links").height == links.height
    )


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "c", "d", "aa", ""]), max_size=12),
    known=st.lists(st.sampled_from(["a", "b", "d", "aa", "z"]), max_size=5, unique=True),
    sort_ids=st.booleans(),
)
def test_known_ids_by_binary_search_match_a_hash_lookup(
    ids: list[str], known: list[str], sort_ids: bool
) -> None:
    from syndicate.validation import _is_known

    series = pl.Series(sorted(ids) if sort_ids else ids, dtype=pl.String)
    known_ids = pl.Series(sorted(known), dtype=pl.String)
    expected = series.is_in(known_ids.implode()).to_list()
    assert _is_known(series, known_ids).to_list() == expected


# ---------------------------------------------------------------------------------------
# Identifier hardening: invisible and compatibility characters, placeholders, unusable values

FOUR = pl.DataFrame({"seller_id": ["a", "b", "c", "d"]})


def test_fullwidth_and_invisible_spellings_of_a_device_bind_one_ring() -> None:
    links = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c"],
            "kind": ["Ｄｅｖｉｃｅ", "dev\u200bice", "device"],
            "value": ["ｄｅｖ１２３", "dev\u200b123", "DEV123"],
        }
    )
    inputs = load_inputs(FOUR, links)
    assert inputs.links.rows() == [
        ("a", "device", "ｄｅｖ１２３", "dev123"),
        ("b", "device", "dev\u200b123", "dev123"),
        ("c", "device", "DEV123", "dev123"),
    ]
    edges = build_linkage(inputs.links, inputs.edges).edges
    assert edges.select("src", "dst").rows() == [("a", "b"), ("a", "c"), ("b", "c")]


def test_placeholder_values_bind_nobody_and_are_written_down() -> None:
    links = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c", "d", "a", "b"],
            "kind": ["email", "email", "email", "ip", "device", "device"],
            "value": ["N/A", " n/a ", "Ｎ/Ａ", "0.0.0.0", "00:00:00:00:00:00", "real-device"],
        }
    )
    inputs = load_inputs(FOUR, links)
    assert inputs.reject_counts() == {"links": {"placeholder_value": 5}}
    assert inputs.links.rows() == [("b", "device", "real-device", "real-device")]
    assert build_linkage(inputs.links).edges.height == 0
    refused = inputs.rejects.filter(pl.col("row") == 2)
    assert refused.select("table", "reason", "seller_id", "record").rows() == [
        ("links", "placeholder_value", "c", '{"seller_id":"c","kind":"email","value":"Ｎ/Ａ"}')
    ]


def test_phones_of_too_few_digits_and_empty_keys_are_refused_not_dropped() -> None:
    links = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c", "d", "a"],
            "kind": ["phone", "phone", "payout", "device", "phone"],
            "value": ["123", "(55) 12", "--/--", "\u200b\u200d", "+1 415 555 0134"],
        }
    )
    inputs = load_inputs(FOUR, links)
    assert inputs.reject_counts() == {"links": {"unusable_value": 4}}
    assert inputs.links.rows() == [("a", "phone", "+1 415 555 0134", "+14155550134")]
    assert inputs.links.height + inputs.rejects.height == links.height


def test_placeholders_come_from_the_config() -> None:
    links = pl.DataFrame(
        {
            "seller_id": ["a", "b", "c", "d"],
            "kind": ["device", "device", "email", "email"],
            "value": ["SHOP-TABLET", "shop-tablet", "test@test.com", "test@test.com"],
        }
    )
    config = Config().with_overrides(
        ['identifiers.placeholders={"Device " = ["Shop-Tablet"], email = []}']
    )
    inputs = load_inputs(FOUR, links, config=config)
    assert inputs.reject_counts() == {"links": {"placeholder_value": 2}}
    assert inputs.links["value"].to_list() == ["test@test.com", "test@test.com"]
    # The default lists refuse test@test.com and keep the tablet.
    default = load_inputs(FOUR, links)
    assert default.links["value"].to_list() == ["SHOP-TABLET", "shop-tablet"]


def test_rejects_of_links_follow_a_fixed_order_of_reasons() -> None:
    # A row is refused once, for the first reason that holds: blank value, unusable value,
    # placeholder, duplicate, unknown seller.
    links = pl.DataFrame(
        {
            "seller_id": ["zz", "zz", "a", "a", "a"],
            "kind": ["phone", "ip", "ip", "ip", "ip"],
            "value": ["12", "n/a", "1.2.3.4", "1.2.3.4", " "],
        }
    )
    inputs = load_inputs(FOUR, links)
    assert inputs.rejects.select("row", "reason").rows() == [
        (0, "unusable_value"),
        (1, "placeholder_value"),
        (3, "duplicate_row"),
        (4, "null_value"),
    ]


def test_each_link_is_refused_once_when_several_reasons_hold() -> None:
    # Blank, unusable and placeholder values are refused together, and duplicates with
    # unknown sellers together: a row still gets the first reason that holds, and copies
    # of a refused row are refused for that reason, not as duplicates.
    links = pl.DataFrame(
        {
            "seller_id": ["zz", "zz", "zz", "zz", "zz", "zz", "a", "a", "zz", "zz"],
            "kind": ["ip", "ip", "phone", "phone", "ip", "ip", "ip", "ip", "ip", "ip"],
            "value": [" ", " ", "12", "12", "n/a", "N/A", "5.6.7.8", "5.6.7.8", "9.9", "9.9"],
        }
    )
    inputs = load_inputs(FOUR, links)
    assert inputs.rejects.select("row", "reason").rows() == [
        (0, "null_value"),
        (1, "null_value"),
        (2, "unusable_value"),
        (3, "unusable_value"),
        (4, "placeholder_value"),
        (5, "placeholder_value"),
        (7, "duplicate_row"),
        (8, "unknown_seller"),
        (9, "duplicate_row"),
    ]
    assert inputs.links.select("seller_id", "value").rows() == [("a", "5.6.7.8")]
    records = [json.loads(r) for r in inputs.rejects["record"]]
    assert all(set(r) == {"seller_id", "kind", "value"} for r in records)


def test_edge_relations_are_normalised_like_kinds() -> None:
    edges = pl.DataFrame(
        {
            "src": ["a", "b", "c"],
            "dst": ["b", "c", "d"],
            "relation": ["Ｒefund\u200b", " REFUND", "\u200b"],
        }
    )
    inputs = load_inputs(FOUR, LINKS, edges)
    assert inputs.edges["relation"].to_list() == ["refund", "refund", "edge"]


# ---------------------------------------------------------------------------------------
# Weights and non-finite values in records


def test_edge_weights_must_be_positive_finite_and_at_most_the_bound() -> None:
    weights = [1e6, 1e6 + 1, 1e300, 3.4e38, math.inf, -math.inf, math.nan, 0.0, -1.0, 1e-9]
    n = len(weights)
    sellers = pl.DataFrame({"seller_id": [f"s{i}" for i in range(n + 1)]})
    edges = pl.DataFrame(
        {
            "src": [f"s{i}" for i in range(n)],
            "dst": [f"s{i + 1}" for i in range(n)],
            "weight": weights,
        }
    )
    inputs = load_inputs(sellers, LINKS.with_columns(seller_id=pl.lit("s0")), edges)
    assert inputs.edges["weight"].to_list() == [1e6, 1e-9]
    refused = inputs.rejects.filter(pl.col("table") == "edges")
    assert refused["reason"].unique().to_list() == ["invalid_weight"]
    assert refused["row"].to_list() == [1, 2, 3, 4, 5, 6, 7, 8]
    # The graph of the kept weights is finite in float32 too.
    weight = build_linkage(inputs.links, inputs.edges).edges["weight"]
    assert weight.cast(pl.Float32).is_finite().all()


def test_nan_and_infinite_weights_are_shown_in_the_record() -> None:
    edges = pl.DataFrame(
        {
            "src": ["a", "a", "b", "c"],
            "dst": ["b", "c", "c", "d"],
            "weight": [math.nan, math.inf, -math.inf, 2.5e6],
        }
    )
    inputs = load_inputs(FOUR, LINKS, edges)
    records = inputs.rejects.sort("row")["record"].to_list()
    assert records == [
        '{"src":"a","dst":"b","relation":"edge","weight":"NaN"}',
        '{"src":"a","dst":"c","relation":"edge","weight":"inf"}',
        '{"src":"b","dst":"c","relation":"edge","weight":"-inf"}',
        '{"src":"c","dst":"d","relation":"edge","weight":2500000.0}',
    ]
    assert [json.loads(r)["weight"] for r in records] == ["NaN", "inf", "-inf", 2.5e6]


def test_a_record_with_nan_keeps_every_other_field_exact() -> None:
    edges = pl.DataFrame(
        {
            "src": ['a"q', "a"],
            "dst": ["b", "c"],
            "relation": ["x\\y", None],
            "weight": [math.nan, None],
        }
    )
    sellers = pl.DataFrame({"seller_id": ['a"q', "a", "b", "c"]})
    inputs = load_inputs(sellers, LINKS, edges)
    (record,) = inputs.rejects["record"].to_list()
    assert json.loads(record) == {"src": 'a"q', "dst": "b", "relation": "x\\y", "weight": "NaN"}


# ---------------------------------------------------------------------------------------
# Sentinel dates

AS_OF = datetime(2026, 12, 1, 12, 0)


@pytest.mark.parametrize(
    ("created_at", "kept"),
    [
        ("9999-12-31", False),
        ("0001-01-01", False),
        ("1900-01-01", False),
        ("1970-01-01T00:00:00Z", False),
        ("1994-12-31T23:59:59", False),
        ("1995-01-01", True),
        ("2026-12-02T12:00:00", True),  # a day after the run's time: a clock skew, kept
        ("2026-12-02T12:00:01", False),
        ("2030-01-01", False),
    ],
)
def test_implausible_created_at_becomes_null_and_is_written_down(
    created_at: str, kept: bool
) -> None:
    sellers = pl.DataFrame(
        {"seller_id": ["a", "b", "c"], "created_at": [created_at, "2024-01-01", None]}
    )
    inputs = load_inputs(sellers, LINKS, as_of=AS_OF)
    assert inputs.sellers["seller_id"].to_list() == ["a", "b", "c"]  # no seller row is lost
    assert inputs.sellers["created_at"].is_null().to_list() == [not kept, False, True]
    if kept:
        assert inputs.rejects.height == 0
    else:
        assert inputs.reject_counts() == {"sellers.created_at": {"implausible_created_at": 1}}
        (record,) = inputs.rejects["record"].to_list()
        assert json.loads(record)["seller_id"] == "a"


def test_the_latest_plausible_date_follows_an_aware_as_of() -> None:
    sellers = pl.DataFrame({"seller_id": ["a"], "created_at": ["2026-12-02T13:00:00"]})
    aware = datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))  # 12:00 UTC
    assert load_inputs(sellers, LINKS.head(1), as_of=aware).sellers["created_at"].null_count() == 1
    later = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert load_inputs(sellers, LINKS.head(1), as_of=later).sellers["created_at"].null_count() == 0


def test_every_new_reason_is_documented() -> None:
    for reason in ("placeholder_value", "unusable_value", "implausible_created_at"):
        assert reason in REJECT_REASONS
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for reason in REJECT_REASONS:
        assert f"`{reason}`" in text, reason
