"""The data contract: errors that stop a run, rows that are refused, types that are fixed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate import InputFileError, SchemaError, load_inputs

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
