"""A PromQL syntax tree, enough to follow labels through an expression; values are never modelled.

Lexing is :func:`alertdrill.assertions.promql.tokenize` (the tokenizer the assertions use to find
selectors), and selectors are its :class:`~alertdrill.assertions.promql.Selector`, so a selector
reads the same in an assertion and in a lint finding. This module adds what the selector scan does
not need: operator precedence, ``on``/``ignoring``/``group_*`` modifiers, aggregations and calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from alertdrill.assertions.promql import AGGREGATIONS, NUMBER_WORDS, Matcher, Selector, Token, tokenize, unquote
from alertdrill.errors import ConfigError

__all__ = [
    "COMPARISONS",
    "RULE_METRICS",
    "SET_OPERATORS",
    "Agg",
    "Binary",
    "Call",
    "Node",
    "Num",
    "Paren",
    "Sel",
    "Str",
    "Unary",
    "parse_promql",
]

#: Metrics Prometheus makes itself from the rules; no exporter has to produce them.
RULE_METRICS = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
              "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
MATCH_OPERATORS = ("=", "!=", "=~", "!~")

T = TypeVar("T")


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Sel:
    selector: Selector


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Agg:
    op: str
    expr: Node
    param: Node | None = None
    labels: tuple[str, ...] = ()
    without: bool = False
    grouped: bool = False


@dataclass(frozen=True)
class Binary:
    """``lhs op rhs``; ``on`` is True for on(...), False for ignoring(...), None without modifier."""

    op: str
    lhs: Node
    rhs: Node
    text: str
    bool_: bool = False
    on: bool | None = None
    labels: tuple[str, ...] = ()
    card: str = "one-to-one"
    include: tuple[str, ...] = ()

    @property
    def filters(self) -> bool:
        """A comparison without ``bool`` drops series by value and keeps the metric name; all else
        keeps every match and drops the name."""
        return self.op in COMPARISONS and not self.bool_


@dataclass(frozen=True)
class Unary:
    op: str
    expr: Node


@dataclass(frozen=True)
class Paren:
    expr: Node


Node = Union[Num, Str, Sel, Call, Agg, Binary, Unary, Paren]  # noqa: UP007 - a runtime alias


class _Parser:
    """Precedence climbing over :func:`tokenize`'s tokens; ConfigError on anything it cannot read."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = tokenize(expr)
        self.i = 0

    # --- token access

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, message: str) -> ConfigError:
        tok = self.peek()
        where = f"offset {tok.pos} ({tok.text!r})" if tok else "the end"
        return ConfigError(f"PromQL: {message} at {where} in {self.expr!r}")

    def is_op(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok is not None and tok.kind == "op" and tok.text == text

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.text in words

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.fail("unexpected end")
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        if not self.is_op(text):
            raise self.fail(f"expected {text!r}")
        return self.take()

    def delimited(self, opening: str, closing: str, item: Callable[[], T]) -> list[T]:
        """``opening item, item, ... closing``, a trailing comma allowed as in PromQL."""
        self.expect(opening)
        items = []
        while not self.is_op(closing):
            items.append(item())
            if not self.is_op(closing):
                self.expect(",")
        self.expect(closing)
        return items

    def label_name(self, tok: Token) -> str:
        """A label name as written: bare, or quoted (UTF-8 names)."""
        if tok.kind not in ("ident", "string"):
            raise self.fail("expected a label name")
        return unquote(tok.text) if tok.kind == "string" else tok.text

    def label_list(self) -> tuple[str, ...]:
        return tuple(self.delimited("(", ")", lambda: self.label_name(self.take())))

    # --- grammar

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() is not None:
            raise self.fail("unexpected token")
        return node

    def binary_op(self) -> str | None:
        tok = self.peek()
        if tok is not None and tok.kind in ("op", "ident") and tok.text in PRECEDENCE:
            return tok.text
        return None

    def binary(self, min_prec: int) -> Node:
        start = self.peek().pos if self.peek() else len(self.expr)
        lhs = self.unary()
        while (op := self.binary_op()) is not None and PRECEDENCE[op] >= min_prec:
            self.take()
            modifiers = self.modifiers(op)
            rhs = self.binary(PRECEDENCE[op] + (0 if op == "^" else 1))  # ^ is right-associative
            end = self.tokens[self.i - 1]
            lhs = Binary(op, lhs, rhs, self.expr[start:end.pos + len(end.text)], **modifiers)
        return lhs

    def modifiers(self, op: str) -> dict[str, Any]:
        """``bool``, ``on``/``ignoring (...)`` and ``group_left``/``group_right [(...)]`` after ``op``."""
        found: dict[str, Any] = {"card": "many-to-many" if op in SET_OPERATORS else "one-to-one"}
        if self.is_word("bool"):
            self.take()
            found["bool_"] = True
        if self.is_word("on", "ignoring"):
            found["on"] = self.take().text == "on"
            found["labels"] = self.label_list()
        if self.is_word("group_left", "group_right"):
            found["card"] = self.take().text
            found["include"] = self.label_list() if self.is_op("(") else ()
        return found

    def unary(self) -> Node:
        if self.is_op("-") or self.is_op("+"):
            op = self.take().text
            operand = self.binary(PRECEDENCE["^"])
            if isinstance(operand, Num):
                return Num(-operand.value if op == "-" else operand.value)
            return Unary(op, operand)
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        """A range (kept on a plain selector: rate() needs it), subquery, ``offset`` or ``@`` after ``node``."""
        while True:
            if self.is_op("["):
                window = self.brackets()
                if ":" not in window and isinstance(node, Sel):
                    s = node.selector
                    node = Sel(Selector(s.metric, s.matchers, window, s.offset, s.pos))
            elif self.is_word("offset"):
                self.take()
                self.skip_signed()
            elif self.is_op("@"):
                self.take()
                if self.is_word("start", "end"):
                    self.take()
                    self.expect("(")
                    self.expect(")")
                else:
                    self.skip_signed()
            else:
                return node

    def skip_signed(self) -> None:
        """A duration or timestamp, possibly negative: it moves the evaluation time, not the labels."""
        if self.is_op("-"):
            self.take()
        self.take()

    def brackets(self) -> str:
        start = self.expect("[")
        while (tok := self.peek()) is not None and not (tok.kind == "op" and tok.text == "]"):
            self.i += 1
        end = self.expect("]")
        return self.expr[start.pos + 1:end.pos].replace(" ", "")

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected an expression")
        if tok.kind == "number":
            self.take()
            return Num(float(int(tok.text, 16)) if tok.text.lower().startswith("0x") else float(tok.text))
        if tok.kind == "string":
            self.take()
            return Str(unquote(tok.text))
        if self.is_op("("):
            self.take()
            inner = self.binary(0)
            self.expect(")")
            return Paren(inner)
        if self.is_op("{"):
            return self.selector(None, tok)
        if tok.kind != "ident":
            raise self.fail("expected an expression")
        if tok.text.lower() in NUMBER_WORDS:
            self.take()
            return Num(float(tok.text))
        nxt = self.peek(1)
        if tok.text in AGGREGATIONS and nxt is not None and (nxt.text in ("(", "by", "without")):
            return self.aggregation()
        if self.is_op("(", 1):
            self.take()
            return Call(tok.text, self.arguments())
        self.take()
        return self.selector(tok.text, tok)

    def arguments(self) -> tuple[Node, ...]:
        return tuple(self.delimited("(", ")", lambda: self.binary(0)))

    def aggregation(self) -> Node:
        """``op [by|without (...)] (args) [by|without (...)]``: the grouping may stand before or after."""
        op = self.take().text
        grouping = self.grouping()
        args = self.arguments()
        grouping = grouping or self.grouping()
        if not args:
            raise self.fail(f"{op}() needs an argument")
        without, labels = grouping or (False, ())
        param = args[0] if len(args) > 1 else None
        return Agg(op, args[-1], param, labels, without, grouped=grouping is not None)

    def grouping(self) -> tuple[bool, tuple[str, ...]] | None:
        """(is it ``without``, its labels), or None when no ``by``/``without`` stands here."""
        if not self.is_word("by", "without"):
            return None
        return self.take().text == "without", self.label_list()

    def selector(self, metric: str | None, start: Token) -> Sel:
        matchers = self.delimited("{", "}", self.matcher) if self.is_op("{") else []
        if metric is None:
            named = [m for m in matchers if m.name == "__name__" and m.op == "="]
            if named:
                metric = named[0].value
                matchers = [m for m in matchers if m is not named[0]]
        return Sel(Selector(metric, tuple(matchers), pos=start.pos))

    def matcher(self) -> Matcher:
        tok = self.take()
        if tok.kind == "string" and (self.is_op(",") or self.is_op("}")):
            return Matcher("__name__", "=", unquote(tok.text))  # {"metric.name"} (UTF-8 names)
        name = self.label_name(tok)
        op = self.take()
        if op.text not in MATCH_OPERATORS:
            raise self.fail("expected one of = != =~ !~")
        value = self.take()
        if value.kind != "string":
            raise self.fail("expected a quoted label value")
        return Matcher(name, op.text, unquote(value.text))


def parse_promql(expr: str) -> Node:
    """The syntax tree of ``expr``, enough to follow labels through it (values are not modelled)."""
    return _Parser(expr).parse()
