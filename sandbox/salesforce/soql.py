"""A SOQL subset: SELECT fields (and one-level relationship fields such as Profile.Name) or COUNT()
FROM one object [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n].

WHERE supports =, !=, <>, <, <=, >, >=, IN (...), NOT IN (...), LIKE, AND, OR, NOT, parentheses,
and string, number, true/false and null literals. Anything else is MALFORMED_QUERY, as Salesforce
answers it; an unknown field is INVALID_FIELD and an unknown object INVALID_TYPE.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.errors import SfError
from sandbox.salesforce.ids import normalize
from sandbox.salesforce.schema import Field, SObject, sobject

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![A-Za-z_])|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(?P<bad>\S))"
)
KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "limit",
    "offset",
    "nulls",
    "first",
    "last",
    "true",
    "false",
    "null",
    "count",
}
Record = dict[str, Any]
Resolver = Callable[[str, str | None], Record | None]  # (object, id) -> related record


@dataclass
class Tok:
    kind: str
    text: str
    pos: int

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass
class Query:
    spec: SObject
    fields: list[str]  # canonical paths, e.g. "Id", "Profile.Name"
    count: bool = False
    where: Any = None
    order: list[tuple[str, bool, bool | None]] = field(default_factory=list)  # path, desc, nulls_first
    limit: int | None = None
    offset: int = 0


def malformed(message: str) -> SfError:
    return SfError(400, "MALFORMED_QUERY", message)


def _tokens(text: str) -> list[Tok]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.lastgroup is None:
            break
        kind = match.lastgroup
        if kind == "bad":
            raise malformed(f"unexpected token: '{match.group(kind)}'")
        out.append(Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.spec: SObject | None = None

    def peek(self, ahead: int = 0) -> Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def next(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise malformed("unexpected token: <EOF>")
        self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind in ("word", "punct", "op") and tok.low == word:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        tok = self.peek()
        if not self.accept(word):
            raise malformed(f"unexpected token: '{tok.text if tok else '<EOF>'}'")

    def located(self, tok: Tok, message: str, code: str) -> SfError:
        column = tok.pos + 1
        return SfError(400, code, f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{column}\n{message}")

    # -- grammar ---------------------------------------------------------------------------
    def parse(self) -> Query:
        self.expect("select")
        count, raw_fields = False, []
        if self.peek() and self.peek().low == "count" and self.peek(1) and self.peek(1).text == "(":  # type: ignore[union-attr]
            self.i += 1
            self.expect("(")
            self.expect(")")
            count = True
        else:
            raw_fields.append(self.word())
            while self.accept(","):
                raw_fields.append(self.word())
        self.expect("from")
        obj = self.word()
        self.spec = sobject(obj.text)
        if self.spec is None:
            raise self.located(
                obj,
                f"sObject type '{obj.text}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
                "INVALID_TYPE",
            )
        query = Query(self.spec, [self.path(t) for t in raw_fields], count=count)
        if self.accept("where"):
            query.where = self.or_expr()
        if self.accept("order"):
            self.expect("by")
            query.order.append(self.order_item())
            while self.accept(","):
                query.order.append(self.order_item())
        if self.accept("limit"):
            query.limit = self.integer()
        if self.accept("offset"):
            query.offset = self.integer()
        tok = self.peek()
        if tok is not None:
            raise malformed(f"unexpected token: '{tok.text}'")
        return query

    def word(self) -> Tok:
        tok = self.next()
        if tok.kind != "word" or tok.low in KEYWORDS - {"first", "last", "count"}:
            raise malformed(f"unexpected token: '{tok.text}'")
        return tok

    def integer(self) -> int:
        tok = self.next()
        if tok.kind != "num" or not tok.text.isdigit():
            raise malformed(f"unexpected token: '{tok.text}'")
        return int(tok.text)

    def path(self, tok: Tok) -> str:
        """Check a (relationship) field against the schema; returns its canonical spelling."""
        assert self.spec is not None
        parts = tok.text.split(".")
        if len(parts) > 1 and parts[0].lower() == self.spec.name.lower():
            parts = parts[1:]
        spec, out = self.spec, []
        for depth, part in enumerate(parts):
            if depth < len(parts) - 1:
                rel = spec.relationships.get(part.lower())
                target = sobject(rel.ref) if rel and rel.ref else None
                if rel is None or target is None or depth > 0:
                    raise self.located(
                        tok,
                        f"Didn't understand relationship '{part}' in field path. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' after "
                        "the custom relationship name. Please reference your WSDL or the describe "
                        "call for the appropriate names.",
                        "INVALID_FIELD",
                    )
                out.append(rel.rel or part)
                spec = target
                continue
            fld = spec.field(part)
            if fld is None:
                raise self.located(
                    tok,
                    f"No such column '{part}' on entity '{spec.name}'. If you are attempting to "
                    "use a custom field, be sure to append the '__c' after the custom field name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                    "INVALID_FIELD",
                )
            out.append(fld.name)
        return ".".join(out)

    def order_item(self) -> tuple[str, bool, bool | None]:
        name = self.path(self.word())
        desc = self.accept("desc")
        if not desc:
            self.accept("asc")
        nulls: bool | None = None
        if self.accept("nulls"):
            if self.accept("first"):
                nulls = True
            else:
                self.expect("last")
                nulls = False
        return name, desc, nulls

    def or_expr(self) -> Any:
        node = self.and_expr()
        while self.accept("or"):
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self) -> Any:
        node = self.not_expr()
        while self.accept("and"):
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self) -> Any:
        if self.accept("not"):
            return ("not", self.not_expr())
        if self.accept("("):
            node = self.or_expr()
            self.expect(")")
            return node
        return self.condition()

    def condition(self) -> Any:
        tok = self.word()
        name = self.path(tok)
        fld = self.field_of(name)
        if self.accept("not"):
            self.expect("in")
            return ("not", ("in", name, self.value_list(tok, fld)))
        if self.accept("in"):
            return ("in", name, self.value_list(tok, fld))
        if self.accept("like"):
            value = self.value(tok, fld)
            if not isinstance(value, str):
                raise malformed("LIKE needs a string value")
            return ("like", name, value)
        op = self.next()
        if op.kind != "op":
            raise malformed(f"unexpected token: '{op.text}'")
        return ("cmp", op.text, name, self.value(tok, fld))

    def field_of(self, path: str) -> Field:
        assert self.spec is not None
        spec, parts = self.spec, path.split(".")
        for part in parts[:-1]:
            rel = spec.relationships[part.lower()]
            spec = sobject(rel.ref or "") or spec
        result = spec.field(parts[-1])
        assert result is not None
        return result

    def value_list(self, tok: Tok, fld: Field) -> list[Any]:
        self.expect("(")
        values = [self.value(tok, fld)]
        while self.accept(","):
            values.append(self.value(tok, fld))
        self.expect(")")
        return values

    def value(self, tok: Tok, fld: Field) -> Any:
        val = self.next()
        if val.kind == "str":
            if fld.type == "boolean":
                raise self.located(
                    tok,
                    f"value of filter criterion for field '{fld.name}' must be of type boolean "
                    "and should not be enclosed in quotes",
                    "INVALID_QUERY_FILTER_OPERATOR",
                )
            return re.sub(r"\\(.)", r"\1", val.text[1:-1])
        if val.kind == "num":
            return float(val.text) if "." in val.text else int(val.text)
        if val.kind == "word" and val.low in ("true", "false"):
            return val.low == "true"
        if val.kind == "word" and val.low == "null":
            return None
        raise malformed(f"unexpected token: '{val.text}'")


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise malformed("unexpected token: <EOF>")
    return _Parser(text).parse()


# -- evaluation -------------------------------------------------------------------------------
def value_of(record: Record, path: str, spec: SObject, resolve: Resolver) -> Any:
    parts = path.split(".")
    if len(parts) == 1:
        return record.get(parts[0])
    rel = spec.relationships[parts[0].lower()]
    related = resolve(rel.ref or "", record.get(rel.name))
    return None if related is None else related.get(parts[1])


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        full = normalize(value)
        return full if full else value.lower()
    return value


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def matches(node: Any, record: Record, spec: SObject, resolve: Resolver) -> bool:
    kind = node[0]
    if kind == "and":
        return matches(node[1], record, spec, resolve) and matches(node[2], record, spec, resolve)
    if kind == "or":
        return matches(node[1], record, spec, resolve) or matches(node[2], record, spec, resolve)
    if kind == "not":
        return not matches(node[1], record, spec, resolve)
    if kind == "in":
        value = _norm(value_of(record, node[1], spec, resolve))
        return value in {_norm(v) for v in node[2]}
    if kind == "like":
        return _like(value_of(record, node[1], spec, resolve), node[2])
    _, op, path, literal = node
    left, right = _norm(value_of(record, path, spec, resolve)), _norm(literal)
    if op == "=":
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    except TypeError:
        return False


def run(query: Query, records: list[Record], resolve: Resolver) -> list[Record]:
    """Filter and order *records*; returns the matching source records (LIMIT/OFFSET applied)."""
    rows = [r for r in records if query.where is None or matches(query.where, r, query.spec, resolve)]
    for path, desc, nulls_first in reversed(query.order):

        def key(r: Record, path: str = path) -> tuple[int, Any]:
            value = value_of(r, path, query.spec, resolve)
            return (0, "") if value is None else (1, value.lower() if isinstance(value, str) else value)

        present = sorted((r for r in rows if key(r)[0]), key=key, reverse=desc)
        absent = [r for r in rows if not key(r)[0]]
        first = (not desc) if nulls_first is None else nulls_first
        rows = absent + present if first else present + absent
    rows = rows[query.offset :]
    return rows[: query.limit] if query.limit is not None else rows
