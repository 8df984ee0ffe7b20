"""The condition language of strategies: exact results, hostile text refused, a reference check.

The frame ``RINGS`` has four rings; each good condition's expected mask is worked out by hand
in its comment, with SQL's NULL rules (a comparison with NULL is NULL, NULL counts as false).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import syndicate.strategies.conditions as conditions_module
from syndicate.errors import ConfigError
from syndicate.strategies import MAX_CONDITION_CHARS, Condition, compile_condition

#         ring 0   ring 1   ring 2   ring 3
RINGS = pl.DataFrame(
    {
        "ring_size": [3, 6, None, 5],
        "ring_known_bad": [1, 2, 0, None],
        "ring_onboarding_spread_days": [1.5, None, 0.0, 2.0],
        "top_kind": ["Device", None, "payout", "device"],
        "is_new": [True, False, None, True],
    },
    schema_overrides={"ring_size": pl.Int64, "ring_known_bad": pl.UInt32},
)

GOOD = [
    # the rule: ring 1 has no spread (NULL -> false), ring 3 no known bad
    ("ring_size >= 5 AND ring_onboarding_spread_days <= 2 AND ring_known_bad >= 1", [0, 0, 0, 0]),
    ("ring_size >= 5 AND ring_known_bad >= 1", [0, 1, 0, 0]),
    # NULL AND FALSE is FALSE, NULL OR TRUE is TRUE
    ("ring_size > 4 OR ring_known_bad = 0", [0, 1, 1, 1]),
    ("ring_size != 3", [0, 1, 0, 1]),
    ("ring_size <> 3", [0, 1, 0, 1]),
    ("ring_size < 4 OR ring_size > 5", [1, 1, 0, 0]),
    # NOT NULL is NULL: ring 2 stays false under NOT too
    ("NOT ring_size > 4", [1, 0, 0, 0]),
    # ring 2: NULL AND FALSE is FALSE, so NOT gives TRUE; ring 3: TRUE AND NULL is NULL
    ("NOT (ring_size > 4 AND ring_known_bad >= 2)", [1, 0, 1, 0]),
    ("ring_size IN (3, 5)", [1, 0, 0, 1]),
    # a miss against a list holding NULL is NULL, so NOT IN (..., NULL) is never true
    ("ring_size NOT IN (3, NULL)", [0, 0, 0, 0]),
    ("ring_size IN (3.0, 6)", [1, 1, 0, 0]),
    ("ring_onboarding_spread_days IN (1.5, 2)", [1, 0, 0, 1]),
    ("top_kind IN ('device', 'payout')", [0, 0, 1, 1]),
    ("ring_size BETWEEN 4 AND 6", [0, 1, 0, 1]),
    ("ring_size NOT BETWEEN 4 AND 6", [1, 0, 0, 0]),
    ("ring_onboarding_spread_days BETWEEN 0 AND 1.5", [1, 0, 1, 0]),
    ("ring_known_bad IS NULL", [0, 0, 0, 1]),
    ("top_kind IS NOT NULL", [1, 0, 1, 1]),
    # 3/1 = 3, 6/2 = 3, NULL, NULL
    ("ring_size / ring_known_bad > 2", [1, 1, 0, 0]),
    # division by zero is NULL
    ("ring_size / 0 > 1", [0, 0, 0, 0]),
    ("ring_size * 2 - ring_known_bad >= 9", [0, 1, 0, 0]),
    ("-ring_size < -4", [0, 1, 0, 1]),
    ("ring_size + ring_onboarding_spread_days > 4", [1, 0, 0, 1]),
    ("COALESCE(ring_known_bad, 0) = 0", [0, 0, 1, 1]),
    ("COALESCE(ring_size, ring_known_bad, -1) >= 0", [1, 1, 1, 1]),
    ("CASE WHEN ring_size > 4 THEN 1 ELSE 0 END = 1", [0, 1, 0, 1]),
    # no ELSE: NULL
    ("CASE WHEN ring_size > 4 THEN 'big' END = 'big'", [0, 1, 0, 1]),
    ("CASE ring_size WHEN 3 THEN TRUE WHEN 5 THEN TRUE ELSE FALSE END", [1, 0, 0, 1]),
    ("is_new", [1, 0, 0, 1]),
    ("is_new = FALSE", [0, 1, 0, 0]),
    ("NOT is_new", [0, 1, 0, 0]),
    ("LOWER(top_kind) = 'device'", [1, 0, 0, 1]),
    ("UPPER(top_kind) = 'PAYOUT'", [0, 0, 1, 0]),
    ("LENGTH(top_kind) = 6", [1, 0, 1, 1]),
    ("top_kind > 'c'", [0, 0, 1, 1]),
    # 1.5 rounds away from zero to 2
    ("ROUND(ring_onboarding_spread_days) = 2", [1, 0, 0, 1]),
    ("ROUND(ring_onboarding_spread_days, 1) = 1.5", [1, 0, 0, 0]),
    ("ABS(ring_size - 5) <= 1", [0, 1, 0, 1]),
    # GREATEST and LEAST ignore NULL arguments (as PostgreSQL)
    ("GREATEST(ring_size, ring_known_bad) >= 3", [1, 1, 0, 1]),
    ("LEAST(ring_size, 4) = 4", [0, 1, 1, 1]),
    ('"ring_size" = 6', [0, 1, 0, 0]),
    ("ring_size > 3 -- a comment", [0, 1, 0, 1]),
    ("TRUE", [1, 1, 1, 1]),
    ("ring_size = NULL", [0, 0, 0, 0]),
    ("NULL IS NULL AND ring_size IS NULL", [0, 0, 1, 0]),
    ("(((ring_size))) >= (5)", [0, 1, 0, 1]),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_good_condition_gives_the_hand_worked_mask(text: str, expected: list[int]) -> None:
    condition = compile_condition(text, RINGS.schema, name="rule")
    mask = condition.mask(RINGS)
    assert mask.dtype == pl.Boolean
    assert mask.null_count() == 0
    assert mask.to_list() == [bool(v) for v in expected]


def test_condition_holds_expression_columns_and_text() -> None:
    text = "ring_size >= 5 AND COALESCE(ring_known_bad, 0) >= 1"
    condition = compile_condition(text, RINGS.schema, name="fast-ring")
    assert isinstance(condition, Condition)
    assert condition.columns == ("ring_known_bad", "ring_size")
    assert condition.text == text
    assert condition.name == "fast-ring"
    out = RINGS.lazy().with_columns(condition.expr).collect()
    assert out["fast-ring"].to_list() == [False, True, False, False]
    with pytest.raises(AttributeError):
        condition.text = "TRUE"  # type: ignore[misc]


def test_categorical_column_compares_as_text() -> None:
    frame = RINGS.with_columns(pl.col("top_kind").cast(pl.Categorical))
    condition = compile_condition("top_kind IN ('device', 'Device')", frame.schema, name="c")
    assert condition.mask(frame).to_list() == [True, False, False, True]


SCHEMA = {
    **dict(RINGS.schema),
    "first_seen": pl.Datetime("us"),
    "member_ids": pl.List(pl.String),
}

BAD = [
    # a subquery that Polars' own SQL would run while parsing
    ("n > (SELECT max(a) FROM read_csv('/etc/passwd'))", r"'SELECT' is not allowed"),
    ("ring_size > (SELECT 1)", r"'SELECT' is not allowed"),
    ("ring_size IN (SELECT ring_size FROM t)", r"uses query, which is not allowed"),
    ("EXISTS(SELECT 1)", r"EXISTS.* is not allowed"),
    ("1; DROP TABLE x", r"syntax error at column 2: ';' is not allowed"),
    ("ring_size > 1;", r"';' is not allowed"),
    ("read_parquet('x')", r"function READ_PARQUET\(\) is not allowed"),
    ("read_csv('/etc/passwd') IS NULL", r"function READ_CSV\(\) is not allowed"),
    ("pragma", r"syntax error at column 6"),
    ("t.ring_size > 1", r"'t.ring_size': table-qualified columns are not allowed; .*'ring_size'"),
    ("a.b.c.ring_size > 1", r"table-qualified"),
    ("*", r"'\*' is not allowed"),
    ("foo(ring_size) > 1", r"function FOO\(\) is not allowed .*functions ABS, COALESCE"),
    ("max(ring_size) > 1", r"function MAX\(\) is not allowed"),
    ("sum(ring_size) OVER () > 1", r"window function"),
    ("ring_size > ?", r"a parameter"),
    ("ring_size > :limit", r"a parameter|syntax error"),  # sqlglot < 30: a syntax error
    ("ring_size > @limit", r"a parameter"),
    ("CAST(ring_size AS INT) > 1", r"'CAST' is not allowed"),
    ("ring_size::int > 1", r"'CAST' is not allowed"),
    ("top_kind LIKE 'dev%'", r"'LIKE' is not allowed"),
    ("top_kind || 'x' = 'a'", r"'\|\|' is not allowed"),
    ("ring_size % 2 = 0", r"'%' is not allowed"),
    ("ring_size IS DISTINCT FROM 3", r"'IS DISTINCT FROM' is not allowed"),
    ("ring_size BETWEEN SYMMETRIC 1 AND 3", r"uses symmetric|unknown column 'SYMMETRIC'"),
    ("ring_size IS TRUE", r"only IS NULL and IS NOT NULL"),
    ("ring_size 5", r"syntax error at column 11"),
    ("ring_size >", r"syntax error at column 11"),
    ("ring_size > 1\nAND ring_size >", r"syntax error at line 2, column 15"),
    ("top_kind = 'device", r"syntax error: .*unclosed quote"),
    ("", r"the condition is empty"),
    ("   -- only a comment", r"the condition is empty"),
    ("ring_sise >= 5", r"unknown column 'ring_sise'; did you mean 'ring_size'\?"),
    ("RING_SIZE >= 5", r"unknown column 'RING_SIZE'; did you mean 'ring_size'\?"),
    ("zzz >= 5", r"unknown column 'zzz'$"),
    ("member_ids IS NULL", r"column 'member_ids' has type List\(String\), which conditions cannot"),
    ("top_kind > 1", r"type mismatch in 'top_kind > 1': cannot compare text with a number"),
    ("top_kind + 1 > 2", r"'top_kind' is text, but a number is needed"),
    ("first_seen > 1", r"cannot compare a datetime with a number"),
    ("ring_size + 1", r"must be true or false, but 'ring_size \+ 1' is a number"),
    ("top_kind", r"must be true or false, but 'top_kind' is text"),
    ("NULL", r"must be true or false"),
    ("ring_size > 1 AND top_kind", r"'top_kind' is text, but true/false is needed"),
    ("NOT ring_size", r"'ring_size' is a number, but true/false is needed"),
    ("is_new < TRUE", r"true/false values have no order"),
    ("ring_size > 1 > 0", r"cannot compare true/false with a number"),
    ("ring_size IN (1, 'a')", r"cannot compare a number with text"),
    ("ring_size IN (ring_known_bad)", r"IN takes a list of literal values"),
    ("CASE WHEN is_new THEN 1 ELSE 'x' END = 1", r"its values mix a number and text"),
    ("CASE WHEN ring_size THEN 1 END = 1", r"'ring_size' is a number, but true/false is needed"),
    ("ROUND(ring_size, -1) > 1", r"ROUND's second argument must be a whole number"),
    ("ROUND(ring_size, ring_known_bad) > 1", r"ROUND's second argument"),
    ("LOWER(ring_size) = 'a'", r"'ring_size' is a number, but text is needed"),
    ("LENGTH(ring_size) > 1", r"is a number, but text is needed"),
    ("ABS(top_kind) > 1", r"is text, but a number is needed"),
    ("COALESCE(ring_size, 'none') = 'none'", r"mix a number and text"),
    # nesting: refused before sqlglot's recursive parser, or by the tree-depth bound
    ("(" * 30 + "ring_size > 1" + ")" * 30, r"nested too deeply at column 21"),
    ("ABS(" * 30 + "ring_size" + ")" * 30 + " > 1", r"nested too deeply"),
    ("(" * 4000 + "ring_size > 1" + ")" * 4000, r"nested too deeply"),
    ("NOT " * 1500 + "is_new", r"nested too deeply"),
    (" OR ".join(["is_new"] * 150), r"nested too deeply \(more than 100 levels\).*IN \(\.\.\.\)"),
    ("ring_size > 1 AND " * 6000 + "TRUE", r"characters long; at most 10000"),
    ("x" * 100_000, r"100000 characters long"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_condition_is_refused_naming_the_strategy(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^strategy 'fast-ring': " + f"(?s:.*){message}"):
        compile_condition(text, SCHEMA, name="fast-ring")


def test_refusals_are_exit_2_errors() -> None:
    with pytest.raises(ValueError):  # ConfigError is an InputError: exit status 2
        compile_condition("ring_size > (SELECT 1)", SCHEMA, name="x")


def test_non_text_condition_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"strategy 'x': the condition must be text; got 5"):
        compile_condition(5, SCHEMA, name="x")  # type: ignore[arg-type]


def test_deep_nesting_never_raises_recursion_error() -> None:
    # Just inside the bracket bound, with some stack already in use by the caller.
    def nested(levels: int) -> None:
        if levels:
            nested(levels - 1)
            return
        text = "(" * 20 + "ring_size > 1" + ")" * 20
        assert compile_condition(text, SCHEMA, name="x").columns == ("ring_size",)

    nested(200)


def test_hostile_file_read_never_happens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A subquery reading a file is refused before anything could evaluate it."""
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    opened: list[str] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and args and str(args[0]) == str(secret):
            opened.append(event)

    sys.addaudithook(audit)  # audit hooks cannot be removed; this one only watches one path

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Polars SQL or reader entry point was called")

    for entry in ("sql_expr", "sql", "SQLContext", "read_csv", "scan_csv", "read_parquet"):
        monkeypatch.setattr(pl, entry, forbidden)
    texts = [
        f"ring_size > (SELECT max(a) FROM read_csv('{secret}'))",
        f"read_csv('{secret}') IS NULL",
        f"ring_size IN (SELECT a FROM '{secret}')",
    ]
    for text in texts:
        with pytest.raises(ConfigError, match=r"is not allowed|uses query"):
            compile_condition(text, SCHEMA, name="x")
    assert opened == []
    with secret.open(encoding="utf-8"):  # the hook does see a real read
        pass
    assert opened == ["open"]


def test_module_never_hands_text_to_an_evaluator() -> None:
    source = Path(conditions_module.__file__).read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    code = code.split('"""', 2)[2]  # past the module docstring, which names sql_expr
    for name in ("sql_expr", "SQLContext", "eval(", "exec(", "pl.sql("):
        assert name not in code


def test_max_length_is_the_bound() -> None:
    text = "ring_size > 1" + " " * (MAX_CONDITION_CHARS - len("ring_size > 1"))
    assert compile_condition(text, SCHEMA, name="x").columns == ("ring_size",)


# -- a reference evaluator in plain Python, three-valued logic --------------------------------

COLUMNS = ("a", "b")
OPS = ("<", "<=", "=", "!=", ">", ">=")


def _atom() -> st.SearchStrategy[tuple[object, ...]]:
    comparison = st.tuples(
        st.just("cmp"),
        st.sampled_from(COLUMNS),
        st.sampled_from(OPS),
        st.integers(-3, 3) | st.sampled_from(COLUMNS),
    )
    is_null = st.tuples(st.just("isnull"), st.sampled_from(COLUMNS), st.booleans())
    total = st.tuples(st.just("sum"), st.sampled_from(OPS), st.integers(-6, 6))
    return comparison | is_null | total


def _extend(
    children: st.SearchStrategy[tuple[object, ...]],
) -> st.SearchStrategy[tuple[object, ...]]:
    return st.tuples(st.just("not"), children) | st.tuples(
        st.sampled_from(("and", "or")), children, children
    )


TREES = st.recursive(_atom(), _extend, max_leaves=6)
ROWS = st.lists(
    st.fixed_dictionaries({c: st.none() | st.integers(-3, 3) for c in COLUMNS}),
    min_size=1,
    max_size=8,
)


def _sql(tree: tuple[object, ...]) -> str:
    head = tree[0]
    if head == "cmp":
        return f"{tree[1]} {tree[2]} {tree[3]}"
    if head == "isnull":
        return f"{tree[1]} IS {'NOT ' if tree[2] else ''}NULL"
    if head == "sum":
        return f"a + b {tree[1]} {tree[2]}"
    if head == "not":
        return f"NOT ({_sql(tree[1])})"  # type: ignore[arg-type]
    return f"({_sql(tree[1])}) {str(head).upper()} ({_sql(tree[2])})"  # type: ignore[arg-type]


def _compare(left: int | None, op: object, right: int | None) -> bool | None:
    if left is None or right is None:
        return None
    return {
        "<": left < right,
        "<=": left <= right,
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
    }[str(op)]


def _reference(tree: tuple[object, ...], row: dict[str, int | None]) -> bool | None:
    head = tree[0]
    if head == "cmp":
        right = tree[3]
        return _compare(row[str(tree[1])], tree[2], row[right] if isinstance(right, str) else right)  # type: ignore[arg-type]
    if head == "isnull":
        return (row[str(tree[1])] is None) != tree[2]
    if head == "sum":
        a, b = row["a"], row["b"]
        return _compare(None if a is None or b is None else a + b, tree[1], tree[2])  # type: ignore[arg-type]
    if head == "not":
        inner = _reference(tree[1], row)  # type: ignore[arg-type]
        return None if inner is None else not inner
    left = _reference(tree[1], row)  # type: ignore[arg-type]
    right = _reference(tree[2], row)  # type: ignore[arg-type]
    if head == "and":
        if left is False or right is False:
            return False
        return None if left is None or right is None else True
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


@settings(max_examples=200, deadline=None)
@given(tree=TREES, rows=ROWS)
def test_compiled_condition_agrees_with_a_reference_evaluator(
    tree: tuple[object, ...], rows: list[dict[str, int | None]]
) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64})
    condition = compile_condition(_sql(tree), frame.schema, name="p")
    expected = [_reference(tree, row) is True for row in rows]
    assert condition.mask(frame).to_list() == expected
