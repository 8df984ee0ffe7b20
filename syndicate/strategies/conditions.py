"""The safe condition language of strategies: a small SQL expression dialect over Polars.

An analyst writes a condition such as
``ring_size >= 5 AND ring_onboarding_spread_days <= 2 AND ring_known_bad >= 1``. It is
handled in three steps, and no user text ever reaches an evaluator that can read files or
run code (``pl.sql_expr`` parses subqueries such as ``read_csv('/etc/passwd')`` and runs
them while parsing, so it is never used):

1. **Bounds and tokens.** The text is bounded in length; sqlglot's tokenizer splits it, a
   ``;`` (a second statement) is refused and the bracket depth is bounded *before* the
   recursive parser sees it.
2. **Parse and allowlist.** sqlglot parses exactly one expression; every node of the tree
   must be of an allowed kind (:data:`ALLOWED_FUNCTIONS` and the operators listed in
   :data:`ALLOWED_SUMMARY`), carry no extra arguments, and the tree is bounded in depth.
3. **Translate and type-check.** The tree is translated node by node into a Polars
   expression, with the kind of every sub-expression (number, text, boolean, null or a
   temporal kind) derived from the column dtypes, so type mismatches are found at compile
   time.

NULL follows SQL: comparisons and arithmetic with NULL give NULL, ``AND``/``OR`` use
three-valued logic (``NULL AND FALSE`` is FALSE, ``NULL OR TRUE`` is TRUE), ``NOT NULL`` is
NULL, and the final condition counts NULL as false (``fill_null(False)``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType

from syndicate.errors import ConfigError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_SUMMARY",
    "MAX_CONDITION_CHARS",
    "MAX_DEPTH",
    "MAX_NESTING",
    "Condition",
    "check_syntax",
    "compile_condition",
]

#: Longest condition accepted, in characters.
MAX_CONDITION_CHARS = 10_000
#: Deepest bracket nesting accepted: parentheses, function calls and CASE ... END.
#: sqlglot's parser is recursive and spends about 20 Python frames per bracket level, so
#: this is checked on the tokens, before parsing, well inside Python's recursion limit.
MAX_NESTING = 20
#: Deepest syntax tree accepted (a chain ``a OR b OR c ...`` is one level per operator).
MAX_DEPTH = 100

#: The functions a condition may call, by their SQL name.
ALLOWED_FUNCTIONS = ("ABS", "COALESCE", "GREATEST", "LEAST", "LENGTH", "LOWER", "ROUND", "UPPER")
#: What a condition may use, as said in error messages.
ALLOWED_SUMMARY = (
    "comparisons, AND/OR/NOT, IN (literal list), BETWEEN, IS [NOT] NULL, arithmetic + - * /, "
    f"CASE, functions {', '.join(ALLOWED_FUNCTIONS)}"
)

Kind = Literal["number", "text", "boolean", "null", "date", "datetime", "duration", "time"]
_TEMPORAL: tuple[Kind, ...] = ("date", "datetime", "duration", "time")

#: Allowed node classes, each with the arguments it may carry (any other set argument is
#: refused, so a new sqlglot flag such as ``BETWEEN SYMMETRIC`` cannot slip through).
_ALLOWED_ARGS: dict[type[exp.Expression], frozenset[str]] = {
    exp.Column: frozenset({"this"}),
    exp.Identifier: frozenset({"this", "quoted"}),
    exp.Literal: frozenset({"this", "is_string"}),
    exp.Boolean: frozenset({"this"}),
    exp.Null: frozenset(),
    exp.Paren: frozenset({"this"}),
    exp.And: frozenset({"this", "expression"}),
    exp.Or: frozenset({"this", "expression"}),
    exp.Not: frozenset({"this"}),
    exp.EQ: frozenset({"this", "expression"}),
    exp.NEQ: frozenset({"this", "expression"}),
    exp.LT: frozenset({"this", "expression"}),
    exp.LTE: frozenset({"this", "expression"}),
    exp.GT: frozenset({"this", "expression"}),
    exp.GTE: frozenset({"this", "expression"}),
    exp.In: frozenset({"this", "expressions"}),
    exp.Between: frozenset({"this", "low", "high"}),
    exp.Is: frozenset({"this", "expression"}),
    exp.Add: frozenset({"this", "expression"}),
    exp.Sub: frozenset({"this", "expression"}),
    exp.Mul: frozenset({"this", "expression"}),
    exp.Div: frozenset({"this", "expression", "typed", "safe"}),
    exp.Neg: frozenset({"this"}),
    exp.Case: frozenset({"this", "ifs", "default"}),
    exp.If: frozenset({"this", "true"}),
    exp.Coalesce: frozenset({"this", "expressions"}),
    exp.Abs: frozenset({"this"}),
    exp.Least: frozenset({"this", "expressions", "ignore_nulls"}),
    exp.Greatest: frozenset({"this", "expressions", "ignore_nulls"}),
    exp.Lower: frozenset({"this"}),
    exp.Upper: frozenset({"this"}),
    exp.Length: frozenset({"this"}),
    exp.Round: frozenset({"this", "decimals"}),
}

#: Readable names of common refused constructs (others are named by their SQL keyword).
_REFUSED_NAMES: dict[type[exp.Expression], str] = {
    exp.Subquery: "SELECT",
    exp.Select: "SELECT",
    exp.Star: "*",
    exp.Placeholder: "a parameter ('?' or ':name')",
    exp.Parameter: "a parameter ('@name')",
    exp.Alias: "two terms side by side (an alias; is an operator missing?)",
    exp.Window: "a window function (OVER)",
    exp.Cast: "CAST",
    exp.Like: "LIKE",
    exp.ILike: "ILIKE",
    exp.Mod: "%",
    exp.DPipe: "||",
    exp.Dot: "a dotted name",
    exp.NullSafeEQ: "IS NOT DISTINCT FROM",
    exp.NullSafeNEQ: "IS DISTINCT FROM",
}


@dataclass(frozen=True, eq=False)
class Condition:
    """A compiled strategy condition.

    Attributes
    ----------
    name : str
        The strategy the condition belongs to (also the name of :attr:`expr`'s output).
    text : str
        The condition as written.
    expr : pl.Expr
        A Boolean Polars expression, never null: NULL counts as false.
    columns : tuple of str
        The columns the condition reads, sorted.
    """

    name: str
    text: str
    expr: pl.Expr
    columns: tuple[str, ...]

    def mask(self, frame: pl.DataFrame) -> pl.Series:
        """The condition evaluated on ``frame``: one Boolean per row, never null."""
        # with_columns broadcasts a condition that reads no column (``TRUE``) to every row.
        return frame.with_columns(self.expr).get_column(self.name)


def compile_condition(text: str, columns: Mapping[str, pl.DataType], *, name: str) -> Condition:
    """Parse, allowlist and type-check a condition; translate it into a Polars expression.

    Parameters
    ----------
    text : str
        The condition, in the small SQL expression language of ``docs/conditions.md``.
    columns : mapping of str to polars data type
        The columns the condition may read and their dtypes (a frame's ``schema``).
    name : str
        The strategy's name; every error message starts with it.

    Returns
    -------
    Condition
        The Boolean expression (NULL counted as false), the columns it reads and the text.

    Raises
    ------
    ConfigError
        On a syntax error (with its position), an unknown column (with a suggestion), a
        construct outside the allowlist, a type mismatch, or a condition that is too long or
        too deeply nested.

    Examples
    --------
    >>> import polars as pl
    >>> rings = pl.DataFrame({"ring_size": [3, 6, None], "ring_known_bad": [1, 2, 0]})
    >>> rule = compile_condition(
    ...     "ring_size >= 5 AND ring_known_bad >= 1", rings.schema, name="big-ring"
    ... )
    >>> rule.columns
    ('ring_known_bad', 'ring_size')
    >>> rule.mask(rings).to_list()
    [False, True, False]
    """
    return _Compiler(text, columns, name).compile()


def check_syntax(text: str, *, name: str) -> None:
    """Parse and allowlist a condition without a schema: columns and types are not checked.

    The strategies file is checked with this before a run reads its inputs, so a syntax
    error or a refused construct stops the run at once; :func:`compile_condition` checks the
    columns and types once the tables exist.

    Raises
    ------
    ConfigError
        On a syntax error, a construct outside the allowlist, or a condition that is too
        long or too deeply nested.
    """
    compiler = _Compiler(text, {}, name)
    compiler.allowlist(compiler.parse())


class _Compiler:
    """One compilation: the text, the schema, the strategy name and the columns read."""

    def __init__(self, text: str, columns: Mapping[str, pl.DataType], name: str) -> None:
        self.text = text
        self.schema = dict(columns)
        self.name = name
        self.read: set[str] = set()

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"strategy {self.name!r}: {message}")

    def compile(self) -> Condition:
        tree = self.parse()
        self.allowlist(tree)
        expr, kind = self.translate(tree)
        if kind != "boolean":
            raise self.fail(
                f"the condition must be true or false, but {tree.sql()!r} is {_a(kind)}; "
                "compare it with something (e.g. '>= 1')"
            )
        return Condition(
            name=self.name,
            text=self.text,
            expr=expr.fill_null(False).alias(self.name),
            columns=tuple(sorted(self.read)),
        )

    # -- step 1 and 2: bounds, tokens, parse, allowlist -------------------------------------

    def parse(self) -> exp.Expression:
        text = self.text
        if not isinstance(text, str):
            raise self.fail(f"the condition must be text; got {text!r}")
        if len(text) > MAX_CONDITION_CHARS:
            raise self.fail(
                f"the condition is {len(text)} characters long; at most "
                f"{MAX_CONDITION_CHARS} are allowed"
            )
        if not text.strip():
            raise self.fail("the condition is empty")
        try:
            tokens = Tokenizer().tokenize(text)
        except TokenError as exc:
            raise self.fail(f"syntax error: {_token_error(exc)}") from None
        depth = 0
        for token in tokens:
            if token.token_type == TokenType.SEMICOLON:
                raise self.fail(
                    f"syntax error at column {token.col}: ';' is not allowed "
                    "(a condition is one expression, not several statements)"
                )
            if token.token_type in (TokenType.L_PAREN, TokenType.CASE):
                depth += 1
                if depth > MAX_NESTING:
                    raise self.fail(
                        f"the condition is nested too deeply at column {token.col} "
                        f"(more than {MAX_NESTING} levels of brackets or CASE)"
                    )
            elif token.token_type in (TokenType.R_PAREN, TokenType.END):
                depth -= 1
        if not tokens:
            raise self.fail("the condition is empty")
        try:
            trees = sqlglot.parse(text)
        except ParseError as exc:
            error = exc.errors[0] if exc.errors else {}
            where = f" at column {error['col']}" if "col" in error else ""
            if error.get("line", 1) != 1:
                where = f" at line {error['line']}, column {error['col']}"
            description = error.get("description", str(exc).splitlines()[0])
            raise self.fail(f"syntax error{where}: {_plain(description)}") from None
        except TokenError as exc:
            raise self.fail(f"syntax error: {_token_error(exc)}") from None
        except RecursionError:
            raise self.fail("the condition is nested too deeply") from None
        statements = [tree for tree in trees if tree is not None]
        if len(statements) != 1:
            raise self.fail("the condition must be exactly one expression")
        tree = statements[0]
        if not isinstance(tree, exp.Expression):  # pragma: no cover - every node is one
            raise self.fail(f"cannot read the condition; got {type(tree).__name__}")
        return tree

    def allowlist(self, tree: exp.Expression) -> None:
        """Refuse any node outside the allowlist, and trees deeper than :data:`MAX_DEPTH`."""
        stack: list[tuple[exp.Expression, int]] = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.fail(
                    f"the condition is nested too deeply (more than {MAX_DEPTH} levels); "
                    "for a long list of alternatives use IN (...)"
                )
            allowed = _ALLOWED_ARGS.get(type(node))
            if allowed is None:
                raise self.fail(self.refusal(node))
            if isinstance(node, exp.Column) and any(
                node.args.get(part) for part in ("table", "db", "catalog")
            ):
                raise self.fail(
                    f"{node.sql()!r}: table-qualified columns are not allowed; "
                    f"write the bare column name {node.name!r}"
                )
            extra = sorted(k for k, v in node.args.items() if k not in allowed and _is_set(v))
            if extra:
                raise self.fail(
                    f"{node.sql()!r} uses {', '.join(extra)}, which is not allowed in a "
                    f"condition (allowed: {ALLOWED_SUMMARY})"
                )
            children = [
                child
                for value in node.args.values()
                for child in (value if isinstance(value, list) else [value])
                if isinstance(child, exp.Expression)
            ]
            stack.extend((child, depth + 1) for child in reversed(children))

    def refusal(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Anonymous):
            what = f"function {node.name.upper()}()"
        elif type(node) in _REFUSED_NAMES:
            what = repr(_REFUSED_NAMES[type(node)])
        elif isinstance(node, exp.Func):
            what = f"function {node.sql_name()}()"
        else:
            what = repr(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__).upper())
        return f"{what} is not allowed in a condition (allowed: {ALLOWED_SUMMARY})"

    # -- step 3: translation with kinds ------------------------------------------------------

    def translate(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        handler = _HANDLERS.get(type(node))
        if handler is None:  # pragma: no cover - the allowlist has refused it already
            raise self.fail(self.refusal(node))
        return handler(self, node)

    def column(self, node: exp.Column) -> tuple[pl.Expr, Kind]:
        column = node.name
        if column not in self.schema:
            raise self.fail(f"unknown column {column!r}{self.suggestion(column)}")
        dtype = self.schema[column]
        kind = _kind_of(dtype)
        if kind is None:
            raise self.fail(f"column {column!r} has type {dtype}, which conditions cannot use")
        self.read.add(column)
        expr = pl.col(column)
        if kind == "text" and dtype != pl.String:
            expr = expr.cast(pl.String)  # Categorical and Enum compare as text
        return expr, kind

    def suggestion(self, column: str) -> str:
        names = sorted(self.schema)
        folded = [n for n in names if n.lower() == column.lower()]
        close = folded or difflib.get_close_matches(column, names, n=1, cutoff=0.6)
        return f"; did you mean {close[0]!r}?" if close else ""

    def literal(self, node: exp.Literal) -> tuple[pl.Expr, Kind]:
        if node.is_string:
            return pl.lit(node.this, pl.String), "text"
        number = _number(node.this)
        if number is None:
            raise self.fail(f"cannot read the number {node.this!r}")
        return pl.lit(number), "number"

    def boolean(self, node: exp.Boolean) -> tuple[pl.Expr, Kind]:
        return pl.lit(bool(node.this), pl.Boolean), "boolean"

    def null(self, node: exp.Null) -> tuple[pl.Expr, Kind]:
        return pl.lit(None), "null"

    def paren(self, node: exp.Paren) -> tuple[pl.Expr, Kind]:
        return self.translate(node.this)

    def logical(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        left = self.expect(node.this, "boolean", node)
        right = self.expect(node.expression, "boolean", node)
        # Polars' & and | on Booleans are Kleene (three-valued) logic, as in SQL.
        return (left & right if isinstance(node, exp.And) else left | right), "boolean"

    def negation(self, node: exp.Not) -> tuple[pl.Expr, Kind]:
        return ~self.expect(node.this, "boolean", node), "boolean"

    def comparison(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        left, left_kind = self.translate(node.this)
        right, right_kind = self.translate(node.expression)
        ordered = not isinstance(node, exp.EQ | exp.NEQ)
        self.comparable(node, left_kind, right_kind, ordered=ordered)
        operator = _COMPARISONS[type(node)]
        return operator(left, right), "boolean"

    def comparable(self, node: exp.Expression, left: Kind, right: Kind, *, ordered: bool) -> None:
        if "null" in (left, right) or left == right:
            if ordered and left == "boolean" and right in ("boolean", "null"):
                raise self.fail(f"{node.sql()!r}: true/false values have no order; use = or !=")
            return
        raise self.fail(
            f"type mismatch in {node.sql()!r}: cannot compare {_a(left)} with {_a(right)}"
        )

    def membership(self, node: exp.In) -> tuple[pl.Expr, Kind]:
        value, kind = self.translate(node.this)
        items: list[object] = []
        has_null = False
        for item in node.expressions:
            literal = _literal_value(item)
            if literal is _NOT_LITERAL:
                raise self.fail(
                    f"{node.sql()!r}: IN takes a list of literal values; got {item.sql()!r}"
                )
            if literal is None:
                has_null = True
                continue
            item_kind: Kind = "text" if isinstance(literal, str) else "number"
            if isinstance(literal, bool):
                item_kind = "boolean"
            self.comparable(node, kind, item_kind, ordered=False)
            items.append(literal)
        if kind == "number" and any(isinstance(v, float) for v in items):
            value, items = value.cast(pl.Float64), [float(v) for v in items]  # type: ignore[arg-type]
        choices = pl.Series(items, dtype=_series_dtype(kind)).implode()  # one list, not a column
        found = value.is_in(choices) if items else pl.lit(False)
        # SQL: a NULL value is never known to be in the list, and a miss against a list that
        # holds NULL is unknown rather than false.
        found = pl.when(value.is_null()).then(None).otherwise(found)
        if has_null:
            found = pl.when(found).then(True).otherwise(None)
        return found, "boolean"

    def between(self, node: exp.Between) -> tuple[pl.Expr, Kind]:
        value, kind = self.translate(node.this)
        low, low_kind = self.translate(node.args["low"])
        high, high_kind = self.translate(node.args["high"])
        self.comparable(node, kind, low_kind, ordered=True)
        self.comparable(node, kind, high_kind, ordered=True)
        return (value >= low) & (value <= high), "boolean"

    def is_null(self, node: exp.Is) -> tuple[pl.Expr, Kind]:
        if not isinstance(node.expression, exp.Null):
            raise self.fail(
                f"{node.sql()!r}: only IS NULL and IS NOT NULL are allowed; "
                "for true/false write '= TRUE' or '= FALSE'"
            )
        value, _ = self.translate(node.this)
        return value.is_null(), "boolean"

    def arithmetic(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        left = self.expect(node.this, "number", node)
        right = self.expect(node.expression, "number", node)
        if isinstance(node, exp.Add):
            return left + right, "number"
        if isinstance(node, exp.Sub):
            return left - right, "number"
        if isinstance(node, exp.Mul):
            return left * right, "number"
        # True division; division by zero gives NULL (so it never satisfies a condition).
        return pl.when(right != 0).then(left / right).otherwise(None), "number"

    def minus(self, node: exp.Neg) -> tuple[pl.Expr, Kind]:
        return -self.expect(node.this, "number", node), "number"

    def case(self, node: exp.Case) -> tuple[pl.Expr, Kind]:
        subject = node.args.get("this")
        subject_expr: pl.Expr | None = None
        subject_kind: Kind = "null"
        if subject is not None:
            subject_expr, subject_kind = self.translate(subject)
        branches: list[tuple[pl.Expr, pl.Expr]] = []
        kinds: list[Kind] = []
        for branch in node.args["ifs"]:
            if subject_expr is None:
                when = self.expect(branch.this, "boolean", node)
            else:
                when_value, when_kind = self.translate(branch.this)
                self.comparable(node, subject_kind, when_kind, ordered=False)
                when = subject_expr == when_value
            then, then_kind = self.translate(branch.args["true"])
            branches.append((when, then))
            kinds.append(then_kind)
        default = node.args.get("default")
        otherwise, default_kind = (
            self.translate(default) if default is not None else (pl.lit(None), "null")
        )
        kind = self.common_kind(node, [*kinds, default_kind])
        first_when, first_then = branches[0]
        chain = pl.when(first_when).then(first_then)
        for when, then in branches[1:]:
            chain = chain.when(when).then(then)  # type: ignore[assignment]
        return chain.otherwise(otherwise), kind

    def common_kind(self, node: exp.Expression, kinds: list[Kind]) -> Kind:
        known = sorted({k for k in kinds if k != "null"})
        if len(known) > 1:
            raise self.fail(
                f"type mismatch in {node.sql()!r}: its values mix "
                + " and ".join(_a(k) for k in known)
            )
        return known[0] if known else "null"

    def coalesce(self, node: exp.Coalesce) -> tuple[pl.Expr, Kind]:
        parts = [self.translate(arg) for arg in [node.this, *node.expressions]]
        kind = self.common_kind(node, [k for _, k in parts])
        return pl.coalesce([e for e, _ in parts]), kind

    def extreme(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        parts = [self.expect(arg, "number", node) for arg in [node.this, *node.expressions]]
        # NULL arguments are ignored, as in PostgreSQL.
        if isinstance(node, exp.Least):
            return pl.min_horizontal(parts), "number"
        return pl.max_horizontal(parts), "number"

    def function(self, node: exp.Expression) -> tuple[pl.Expr, Kind]:
        if isinstance(node, exp.Abs):
            return self.expect(node.this, "number", node).abs(), "number"
        if isinstance(node, exp.Round):
            decimals = node.args.get("decimals")
            places = 0
            if decimals is not None:
                literal = _literal_value(decimals)
                if not isinstance(literal, int) or isinstance(literal, bool) or literal < 0:
                    raise self.fail(
                        f"{node.sql()!r}: ROUND's second argument must be a whole number >= 0"
                    )
                places = literal
            value = self.expect(node.this, "number", node).cast(pl.Float64)
            return value.round(places, mode="half_away_from_zero"), "number"
        text = self.expect(node.this, "text", node)
        if isinstance(node, exp.Lower):
            return text.str.to_lowercase(), "text"
        if isinstance(node, exp.Upper):
            return text.str.to_uppercase(), "text"
        return text.str.len_chars(), "number"

    def expect(self, node: exp.Expression, kind: Kind, parent: exp.Expression) -> pl.Expr:
        expr, got = self.translate(node)
        if got not in (kind, "null"):
            raise self.fail(
                f"type mismatch in {parent.sql()!r}: {node.sql()!r} is {_a(got)}, "
                f"but {_a(kind)} is needed"
            )
        if got == "null" and kind == "boolean":
            expr = pl.lit(None, pl.Boolean)
        return expr


_Handler = Callable[[_Compiler, exp.Expression], tuple[pl.Expr, Kind]]

_COMPARISONS: dict[type[exp.Expression], Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
}

_HANDLERS: dict[type[exp.Expression], _Handler] = {
    exp.Column: _Compiler.column,  # type: ignore[dict-item]
    exp.Literal: _Compiler.literal,  # type: ignore[dict-item]
    exp.Boolean: _Compiler.boolean,  # type: ignore[dict-item]
    exp.Null: _Compiler.null,  # type: ignore[dict-item]
    exp.Paren: _Compiler.paren,  # type: ignore[dict-item]
    exp.And: _Compiler.logical,
    exp.Or: _Compiler.logical,
    exp.Not: _Compiler.negation,  # type: ignore[dict-item]
    **{cls: _Compiler.comparison for cls in _COMPARISONS},
    exp.In: _Compiler.membership,  # type: ignore[dict-item]
    exp.Between: _Compiler.between,  # type: ignore[dict-item]
    exp.Is: _Compiler.is_null,  # type: ignore[dict-item]
    exp.Add: _Compiler.arithmetic,
    exp.Sub: _Compiler.arithmetic,
    exp.Mul: _Compiler.arithmetic,
    exp.Div: _Compiler.arithmetic,
    exp.Neg: _Compiler.minus,  # type: ignore[dict-item]
    exp.Case: _Compiler.case,  # type: ignore[dict-item]
    exp.Coalesce: _Compiler.coalesce,  # type: ignore[dict-item]
    exp.Least: _Compiler.extreme,
    exp.Greatest: _Compiler.extreme,
    exp.Abs: _Compiler.function,
    exp.Round: _Compiler.function,
    exp.Lower: _Compiler.function,
    exp.Upper: _Compiler.function,
    exp.Length: _Compiler.function,
}

_NOT_LITERAL = object()


def _literal_value(node: exp.Expression) -> object:
    """The Python value of a literal (``-3`` included), or ``_NOT_LITERAL``."""
    if isinstance(node, exp.Paren):
        return _literal_value(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        number = _number(node.this)
        return _NOT_LITERAL if number is None else number
    if isinstance(node, exp.Neg):
        inner = _literal_value(node.this)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
        return _NOT_LITERAL
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    return _NOT_LITERAL


def _number(text: str) -> int | float | None:
    """The value of a number literal (a float beyond the Int64 range), or None."""
    try:
        whole = int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
    return whole if -(2**63) <= whole < 2**63 else float(whole)


def _series_dtype(kind: Kind) -> pl.DataType | None:
    if kind == "text":
        return pl.String()
    if kind == "boolean":
        return pl.Boolean()
    return None


def _kind_of(dtype: pl.DataType) -> Kind | None:
    """The kind of a column of ``dtype``, or None when conditions cannot use it."""
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype in (pl.String, pl.Categorical, pl.Enum):
        return "text"
    if dtype == pl.Null:
        return "null"
    for temporal, kind in (
        (pl.Date, "date"),
        (pl.Datetime, "datetime"),
        (pl.Duration, "duration"),
        (pl.Time, "time"),
    ):
        if dtype == temporal:
            return kind  # type: ignore[return-value]
    return None


def _a(kind: Kind) -> str:
    return {
        "number": "a number",
        "text": "text",
        "boolean": "true/false",
        "null": "NULL",
    }.get(kind, f"a {kind}")


def _is_set(value: object) -> bool:
    return value not in (None, False, []) and value != ""


def _plain(message: str) -> str:
    """A sqlglot message without its ANSI highlighting or internal class names."""
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)
    return re.sub(r"<class 'sqlglot\.expressions\.(?:\w+\.)*(\w+)'>", r"\1", message)


def _token_error(exc: TokenError) -> str:
    message = _plain(str(exc))
    if "'" in message or '"' in message:
        return f"cannot split the condition into words (an unclosed quote?): {message}"
    return message
