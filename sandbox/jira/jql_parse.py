"""The JQL grammar the Jira stand-in understands: tokenizer and parser into a small
AST (`Clause`, `Node`, `Query`). Evaluation against a store is `sandbox.jira.jql`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Clause", "JqlError", "Node", "Query", "parse"]


class JqlError(ValueError):
    """A query Jira would reject with 400; the message is Jira's wording."""


_TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>!=|>=|<=|!~|=|>|<|~)
  | (?P<punct>[(),])
  | (?P<word>[^\s"'(),=!<>~]+)
)""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


@dataclass
class _Tok:
    kind: str  # string | op | punct | word | kw | end
    text: str
    pos: int


@dataclass
class Clause:
    """`field op value(s)` as written."""

    field: str
    op: str
    values: list[Any]  # str for literals, ("fn", name) for functions, None for EMPTY


@dataclass
class Node:
    """`and` / `or` / `not` over sub-expressions."""

    kind: str
    children: list[Node | Clause]


@dataclass
class Query:
    """A parsed query: a filter (None = everything) and the ORDER BY list."""

    where: Node | Clause | None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, ascending)


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise JqlError(f"Error in the JQL Query: The character '{text[pos]}' is a "
                           f"reserved JQL character. (line 1, character {pos + 1})")
        kind = match.lastgroup or "word"
        value, start = match.group(kind), match.start(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append(_Tok(kind, value, start + 1))
        pos = match.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, expecting: str) -> JqlError:
        tok = self.peek()
        got = "end of query" if tok.kind == "end" else f"'{tok.text}'"
        return JqlError(f"Error in the JQL Query: Expecting {expecting} but got {got}. "
                        f"(line 1, character {tok.pos})")

    def is_kw(self, *words: str) -> bool:
        return self.peek().kind == "kw" and self.peek().text in words

    def query(self) -> Query:
        where = None if self.is_kw("order") or self.peek().kind == "end" else self.or_()
        order: list[tuple[str, bool]] = []
        if self.is_kw("order"):
            self.take()
            if not self.is_kw("by"):
                raise self.fail("'by'")
            self.take()
            while True:
                tok = self.take()
                if tok.kind not in ("word", "string"):
                    raise self.fail("a field name")
                ascending = True
                if self.is_kw("asc", "desc"):
                    ascending = self.take().text == "asc"
                order.append((tok.text, ascending))
                if not (self.peek().kind == "punct" and self.peek().text == ","):
                    break
                self.take()
        if self.peek().kind != "end":
            raise self.fail("either 'OR' or 'AND'")
        return Query(where, order)

    def or_(self) -> Node | Clause:
        parts = [self.and_()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Node("or", parts)

    def and_(self) -> Node | Clause:
        parts = [self.not_()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else Node("and", parts)

    def not_(self) -> Node | Clause:
        if self.is_kw("not"):
            self.take()
            return Node("not", [self.not_()])
        if self.peek().kind == "punct" and self.peek().text == "(":
            self.take()
            inner = self.or_()
            if self.take().text != ")":
                self.i -= 1
                raise self.fail("')'")
            return inner
        return self.clause()

    def clause(self) -> Clause:
        tok = self.take()
        if tok.kind not in ("word", "string"):
            self.i -= 1
            raise self.fail("a field name")
        name = tok.text
        if self.is_kw("in"):
            self.take()
            return Clause(name, "in", self.values())
        if self.is_kw("not"):
            self.take()
            if self.is_kw("in"):
                self.take()
                return Clause(name, "not in", self.values())
            raise self.fail("'IN'")
        if self.is_kw("is"):
            self.take()
            negate = self.is_kw("not")
            if negate:
                self.take()
            if not self.is_kw("empty", "null"):
                raise self.fail("'EMPTY'")
            self.take()
            return Clause(name, "is not" if negate else "is", [None])
        if self.peek().kind != "op":
            raise self.fail("operator")
        op = self.take().text
        return Clause(name, op, [self.value()])

    def values(self) -> list[Any]:
        if self.take().text != "(":
            self.i -= 1
            raise self.fail("'('")
        out = [self.value()]
        while self.peek().text == ",":
            self.take()
            out.append(self.value())
        if self.take().text != ")":
            self.i -= 1
            raise self.fail("')'")
        return out

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return tok.text
        if tok.kind == "kw" and tok.text in ("empty", "null"):
            return None
        if tok.kind == "word":
            if self.peek().text == "(":  # a function call, e.g. currentUser()
                self.take()
                if self.take().text != ")":
                    raise JqlError(f"Error in the JQL Query: function '{tok.text}' takes "
                                   "no arguments here.")
                return ("fn", tok.text)
            return tok.text
        self.i -= 1
        raise self.fail("either a value, 'EMPTY' or a list")


def parse(text: str) -> Query:
    """Parse JQL; raises `JqlError` on anything outside the subset."""
    return _Parser(text or "").query()
