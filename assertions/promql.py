"""The series selectors inside a PromQL expression, so a silent alert can say which input is empty.

This is a tokenizer plus a few rules about what an identifier means where it stands; it does not
build a syntax tree and never evaluates anything. An identifier is a metric name unless it is a
keyword, a function or aggregation (followed by ``(`` or ``by``/``without``), or a label inside the
grouping list of ``by``/``without``/``on``/``ignoring``/``group_left``/``group_right``. Range and
subquery brackets, ``offset`` and ``@`` are recorded on the selector they follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alertdrill.errors import ConfigError

__all__ = ["Matcher", "Selector", "Token", "selectors", "tokenize"]

AGGREGATIONS = frozenset(
    ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
     "quantile", "limitk", "limit_ratio"]
)
GROUPING = frozenset(["by", "without", "on", "ignoring", "group_left", "group_right"])
OPERATOR_WORDS = frozenset(["and", "or", "unless", "bool", "atan2"])
NUMBER_WORDS = frozenset({"inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],:@])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Token:
    """One lexical token: kind is ws-free ``duration|number|ident|string|op``; pos is its offset."""

    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Matcher:
    """A label matcher ``name op value`` with op one of ``= != =~ !~``."""

    name: str
    op: str
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    """A vector selector found in an expression; ``text`` is an instant query for it alone."""

    metric: str | None
    matchers: tuple[Matcher, ...] = ()
    range: str | None = None
    offset: str | None = None
    pos: int = 0

    @property
    def text(self) -> str:
        """The selector as an instant query: metric and matchers, without range or offset."""
        inner = ",".join(str(m) for m in self.matchers)
        if self.metric is None:
            return "{" + inner + "}"
        return self.metric + ("{" + inner + "}" if inner else "")

    def label_value(self, name: str) -> str | None:
        """The value of an equality matcher on ``name`` (e.g. ``job``), if the selector has one."""
        for m in self.matchers:
            if m.name == name and m.op == "=":
                return m.value
        return None

    def __str__(self) -> str:
        return self.text + (f"[{self.range}]" if self.range else "") + (
            f" offset {self.offset}" if self.offset else "")


def tokenize(expr: str) -> list[Token]:
    """Split ``expr`` into tokens (whitespace and ``#`` comments dropped); ConfigError on junk."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ConfigError(f"PromQL: unexpected character {expr[pos]!r} at offset {pos} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def unquote(literal: str) -> str:
    """The value of a PromQL string literal (double, single or back quotes)."""
    quote, body = literal[0], literal[1:-1]
    if quote == "`":
        return body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "x" and i + 3 < len(body):
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            if nxt in "uU":
                width = 4 if nxt == "u" else 8
                out.append(chr(int(body[i + 2:i + 2 + width], 16)))
                i += 2 + width
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


class _Parser:
    """Walks the token list once, collecting selectors."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = tokenize(expr)
        self.i = 0
        self.found: list[Selector] = []

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, message: str, tok: Token | None) -> ConfigError:
        where = f"offset {tok.pos}" if tok else "end of expression"
        return ConfigError(f"PromQL: {message} at {where} in {self.expr!r}")

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or tok.kind != kind or (text is not None and tok.text != text):
            raise self.fail(f"expected {text or kind}", tok)
        self.i += 1
        return tok

    def skip_group(self, opening: str, closing: str) -> None:
        """Skip a balanced ``( ... )`` label list (for by/on/...) starting at the current token."""
        self.expect("op", opening)
        while (tok := self.peek()) is not None and not (tok.kind == "op" and tok.text == closing):
            self.i += 1
        self.expect("op", closing)

    def run(self) -> list[Selector]:
        while (tok := self.peek()) is not None:
            nxt = self.peek(1)
            if tok.kind == "ident":
                self.identifier(tok, nxt)
            elif tok.kind == "op" and tok.text == "{":
                self.selector(None, tok)
            elif tok.kind == "op" and tok.text == "[":
                self.brackets()
            else:
                self.i += 1
        return self.found

    def identifier(self, tok: Token, nxt: Token | None) -> None:
        word = tok.text
        opens_paren = nxt is not None and nxt.kind == "op" and nxt.text == "("
        if word in GROUPING:
            self.i += 1
            if opens_paren:
                self.skip_group("(", ")")
        elif word == "offset":
            self.i += 1
            self.offset_value()
        elif word in OPERATOR_WORDS or word.lower() in NUMBER_WORDS:
            self.i += 1
        elif opens_paren or (word in AGGREGATIONS and nxt is not None and nxt.text in ("by", "without")):
            self.i += 1  # function or aggregation; its arguments are walked as they come
        else:
            self.selector(word, tok)

    def selector(self, metric: str | None, start: Token) -> None:
        if metric is not None:
            self.i += 1
        matchers: list[Matcher] = []
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text == "{":
            self.i += 1
            matchers = self.matchers()
        if metric is None and not matchers:
            raise self.fail("a selector needs a metric name or at least one matcher", start)
        self.found.append(Selector(metric, tuple(matchers), pos=start.pos))
        self.after_selector()

    def matchers(self) -> list[Matcher]:
        out: list[Matcher] = []
        while True:
            tok = self.peek()
            if tok is None:
                raise self.fail("unclosed '{'", tok)
            if tok.kind == "op" and tok.text == "}":
                self.i += 1
                return out
            if tok.kind == "string" and self.peek(1) is not None and self.peek(1).text in (",", "}"):
                out.append(Matcher("__name__", "=", unquote(tok.text)))  # {"metric.name"} (UTF-8 names)
                self.i += 1
            else:
                name = tok.text if tok.kind == "ident" else None
                if tok.kind == "string":
                    name = unquote(tok.text)
                if name is None:
                    raise self.fail("expected a label name", tok)
                self.i += 1
                op = self.peek()
                if op is None or op.kind != "op" or op.text not in ("=", "!=", "=~", "!~"):
                    raise self.fail("expected one of = != =~ !~", op)
                self.i += 1
                value = self.expect("string")
                out.append(Matcher(name, op.text, unquote(value.text)))
            tok = self.peek()
            if tok is not None and tok.kind == "op" and tok.text == ",":
                self.i += 1

    def brackets(self) -> str:
        """Skip ``[range]`` or ``[range:step]`` and return its text."""
        start = self.expect("op", "[")
        while (tok := self.peek()) is not None and tok.text != "]":
            self.i += 1
        end = self.expect("op", "]")
        return self.expr[start.pos + 1:end.pos].replace(" ", "")

    def offset_value(self) -> str:
        parts = []
        while (tok := self.peek()) is not None and (
            tok.kind in ("duration", "number") or (tok.kind == "op" and tok.text in "+-")
        ):
            parts.append(tok.text)
            self.i += 1
            if tok.kind in ("duration", "number"):
                break
        return "".join(parts)

    def after_selector(self) -> None:
        """Attach a following ``[range]``, ``offset`` and ``@`` to the selector just found."""
        sel = self.found[-1]
        rng = offset = None
        while (tok := self.peek()) is not None:
            if tok.kind == "op" and tok.text == "[" and rng is None:
                rng = self.brackets()
            elif tok.kind == "ident" and tok.text == "offset":
                self.i += 1
                offset = self.offset_value()
            elif tok.kind == "op" and tok.text == "@":
                self.i += 1
                nxt = self.peek()
                if nxt is not None and nxt.kind == "ident":  # start() / end()
                    self.i += 1
                    self.skip_group("(", ")")
                else:
                    self.offset_value()
            else:
                break
        self.found[-1] = Selector(sel.metric, sel.matchers, rng, offset, sel.pos)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in ``expr``, in order of appearance, duplicates (same text) removed.

    >>> [s.text for s in selectors('sum by (job) (rate(http_errors_total{code=~"5.."}[5m])) > 0')]
    ['http_errors_total{code=~"5.."}']
    """
    seen: set[str] = set()
    unique: list[Selector] = []
    for sel in _Parser(expr).run():
        if sel.text not in seen:
            seen.add(sel.text)
            unique.append(sel)
    return unique
