"""The syntax of MLflow's search language, shared by every search.

MLflow runs filters through sqlparse and then inspects the token tree; the
language is small enough to read directly:

    filter      := [clause] (AND [clause])*
    clause      := identifier comparator value
                 | identifier IS [NOT] NULL
                 | identifier [NOT] IN '(' value (',' value)* [','] ')'
    identifier  := part ('.' part)*          (a dotted one starts with an entity)
    part        := word | `backticked` | "double-quoted"
    value       := 'single-quoted' | "double-quoted" | number
    order_by    := identifier [ASC | DESC]

Keywords are case-insensitive; entity names and keys are not.  A quote is
written inside a quoted text by doubling it.  This pass yields clauses of
tokens; each search's grammar then checks what the clauses name and compare.
Every rejection is an ``InvalidParameter`` worded as MLflow words it.
"""

import enum
import re
from dataclasses import dataclass
from typing import NamedTuple

from tracker.errors import InvalidParameter

# Tokens.


class Kind(enum.Enum):
    """What a token is."""

    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    END = "end"


class Part(NamedTuple):
    """One dot-separated part of a name, as written."""

    text: str
    quote: str  # "" for a bare word


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a filter or order_by clause, with its text as written."""

    kind: Kind
    raw: str
    position: int
    parts: tuple[Part, ...] = ()
    string: str = ""
    number: int | float = 0

    @property
    def word(self) -> str | None:
        """The text of a lone bare word, the only shape a keyword can take."""
        if self.kind is Kind.NAME and len(self.parts) == 1:
            part = self.parts[0]
            if not part.quote:
                return part.text
        return None

    @property
    def keyword(self) -> str | None:
        word = self.word
        if word is not None and word.upper() in _KEYWORDS:
            return word.upper()
        return None

    @property
    def quoted_string(self) -> str | None:
        """The text of a 'single' or "double" quoted value."""
        if self.kind is Kind.STRING:
            return self.string
        if self.kind is Kind.NAME and len(self.parts) == 1:
            part = self.parts[0]
            if part.quote == '"':
                return part.text
        return None

    def shown(self) -> str:
        return "the end of the input" if self.kind is Kind.END else f"'{self.raw}'"


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?(?![\w.])")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_OPERATOR = re.compile(r"[<>=!~]+")
_LEADING_WORD = re.compile(r"[^\W\d]\w*")
_TRAILING_WORD = re.compile(r"\w+")
_QUOTED = {
    quote: re.compile(f"{quote}((?:[^{quote}]|{quote}{quote})*){quote}")
    for quote in "'\"`"
}
_PUNCTUATION = {"(": Kind.OPEN, ")": Kind.CLOSE, ",": Kind.COMMA}
# PostgreSQL text cannot hold NUL, and UTF-8 cannot encode lone surrogates;
# refusing them here keeps a bad filter from failing later in the driver.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def tokenize(text: str, subject: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an END token.

    ``subject`` names the text in errors, e.g. ``filter 'x = 1'``.
    """
    if unstorable := _UNSTORABLE.search(text):
        raise _lexical_error(
            subject, f"character {unstorable.group()!r} at {unstorable.start()}"
        )

    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if space := _SPACE.match(text, position):
            position = space.end()
            continue

        token = _read_token(text, position, subject)
        tokens.append(token)
        position += len(token.raw)

    tokens.append(Token(Kind.END, "", len(text)))
    return tokens


def _read_token(text: str, position: int, subject: str) -> Token:
    char = text[position]
    if char in _PUNCTUATION:
        return Token(_PUNCTUATION[char], char, position)

    if number := _NUMBER.match(text, position):
        return Token(Kind.NUMBER, number.group(), position, number=_number(number))

    if operator := _OPERATOR.match(text, position):
        return Token(Kind.OPERATOR, operator.group(), position)

    if char == "'":
        string, end = _read_quoted(text, position, subject)
        return Token(Kind.STRING, text[position:end], position, string=string)

    if char in '`"' or _LEADING_WORD.match(text, position):
        parts, end = _read_name(text, position, subject)
        return Token(Kind.NAME, text[position:end], position, parts=parts)

    raise _lexical_error(subject, f"unexpected character {char!r} at {position}")


def _number(match: re.Match[str]) -> int | float:
    # Integers that do not fit a bigint become floats, so neither Python's
    # digit limit for int() nor PostgreSQL's bigint range can be hit later.
    text = match.group()
    if _INTEGER.fullmatch(text):
        integer = int(text)
        if INT64_MIN <= integer <= INT64_MAX:
            return integer
    return float(text)


def _read_quoted(text: str, position: int, subject: str) -> tuple[str, int]:
    quote = text[position]
    match = _QUOTED[quote].match(text, position)
    if match is None:
        raise _lexical_error(subject, f"unterminated {quote} quote at {position}")
    return match.group(1).replace(quote * 2, quote), match.end()


def _read_name(text: str, position: int, subject: str) -> tuple[tuple[Part, ...], int]:
    parts: list[Part] = []
    word = _LEADING_WORD
    while True:
        if position < len(text) and text[position] in '`"':
            quote = text[position]
            unquoted, position = _read_quoted(text, position, subject)
            parts.append(Part(unquoted, quote))
        elif match := word.match(text, position):
            parts.append(Part(match.group(), ""))
            position = match.end()
        else:
            raise _lexical_error(subject, f"expected a name after '.' at {position}")

        if not text.startswith(".", position):
            return tuple(parts), position
        position += 1
        word = _TRAILING_WORD


def _lexical_error(subject: str, detail: str) -> InvalidParameter:
    return InvalidParameter(f"Error on parsing {subject}: {detail}")


# Syntax.


@dataclass(frozen=True, slots=True)
class Clause:
    """One comparison as read, before any search has checked its meaning.

    ``comparator`` is a symbol as written (``"<="``, or ``"=="`` for the
    grammar to refuse) or keywords upper-cased and single-spaced
    (``"NOT IN"``); the operand is a value token, a tuple of them for a
    list, or ``None`` after ``IS [NOT] NULL``.
    """

    target: Token
    comparator: str
    operand: Token | tuple[Token, ...] | None


class Reader:
    """A cursor over tokens that stays on the END token once there."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def peek(self) -> Token:
        return self._tokens[self._index]

    def take(self) -> Token:
        token = self._tokens[self._index]
        if token.kind is not Kind.END:
            self._index += 1
        return token


def read_filter(text: str | None) -> list[Clause]:
    """Read a filter into its clauses, in the order written.

    Args:
        text: The filter; ``None`` or empty for none.

    Returns:
        The clauses the filter ANDs together.

    Raises:
        InvalidParameter: The text does not follow the grammar.
    """
    # MLflow ignores stray ANDs ("AND a = 'x' AND"), and so do we.
    if not text:
        return []

    reader = Reader(tokenize(text, f"filter '{text}'"))
    clauses: list[Clause] = []
    while (token := reader.peek()).kind is not Kind.END:
        if token.keyword == "AND":
            reader.take()
            continue

        clauses.append(_read_clause(reader))
        following = reader.peek()
        if following.kind is not Kind.END and following.keyword != "AND":
            raise _invalid_clause(following)

    return clauses


def _read_clause(reader: Reader) -> Clause:
    target = reader.take()
    if target.kind is not Kind.NAME or target.keyword is not None:
        raise _invalid_clause(target)

    comparator = _read_comparator(reader)
    operand: Token | tuple[Token, ...] | None
    if comparator in ("IS NULL", "IS NOT NULL"):
        operand = None
    elif comparator in ("IN", "NOT IN"):
        operand = _read_list(reader)
    else:
        operand = _read_value(reader)

    return Clause(target, comparator, operand)


def _read_comparator(reader: Reader) -> str:
    token = reader.take()
    if token.kind is Kind.OPERATOR:
        return token.raw

    keyword = token.keyword
    if keyword in ("LIKE", "ILIKE", "IN"):
        return keyword
    if keyword == "NOT":
        negated = reader.take()
        if negated.keyword in ("IN", "LIKE", "ILIKE"):
            return f"NOT {negated.keyword}"
        raise InvalidParameter(
            f"Invalid comparison clause. Expected 'IN' after 'NOT', found "
            f"{negated.shown()}"
        )
    if keyword == "IS":
        tested = reader.take()
        if tested.keyword == "NOT":
            tested = reader.take()
            if tested.keyword == "NULL":
                return "IS NOT NULL"
        elif tested.keyword == "NULL":
            return "IS NULL"
        raise InvalidParameter(
            "Invalid comparison clause. Expected 'IS NULL' or 'IS NOT NULL', found "
            f"{tested.shown()}"
        )

    raise InvalidParameter(
        f"Invalid comparison clause. Expected comparison found {token.shown()}"
    )


def _read_value(reader: Reader) -> Token:
    token = reader.take()
    is_value = token.kind in (Kind.STRING, Kind.NUMBER, Kind.NAME)
    if not is_value or token.keyword is not None:
        raise InvalidParameter(
            f"Invalid comparison clause. Expected value token found {token.shown()}"
        )
    return token


def _read_list(reader: Reader) -> tuple[Token, ...]:
    ill_formed = InvalidParameter(
        "While parsing a list in the query, expected a non-empty list of string "
        "values, but got ill-formed list."
    )
    if reader.take().kind is not Kind.OPEN:
        raise ill_formed

    items: list[Token] = []
    while reader.peek().kind is not Kind.CLOSE:
        if reader.peek().kind not in (Kind.STRING, Kind.NUMBER, Kind.NAME):
            raise ill_formed
        items.append(reader.take())
        if reader.peek().kind is Kind.COMMA:
            reader.take()
        elif reader.peek().kind is not Kind.CLOSE:
            raise ill_formed
    reader.take()

    return tuple(items)


def read_order_item(item: str) -> tuple[Token, bool]:
    """Read one order_by clause.

    Args:
        item: A clause such as ``"metrics.loss DESC"``.

    Returns:
        The name token to order by, and whether the order is ascending.

    Raises:
        InvalidParameter: The clause is not a name and an optional direction.
    """
    unparsable = InvalidParameter(
        f"Invalid order_by clause '{item}'. Could not be parsed."
    )
    reader = Reader(tokenize(item, f"order_by clause '{item}'"))
    target = reader.take()
    if target.kind is not Kind.NAME:
        raise unparsable

    direction = reader.take()
    if direction.kind is Kind.END:
        return target, True
    if direction.kind is not Kind.NAME:
        raise unparsable

    word = (direction.word or "").lower()
    if word not in ("asc", "desc"):
        raise InvalidParameter(f"Invalid ordering key in order_by clause '{item}'.")
    if reader.take().kind is not Kind.END:
        raise unparsable

    return target, word == "asc"


def _invalid_clause(token: Token) -> InvalidParameter:
    return InvalidParameter(f"Invalid clause(s) in filter string: {token.shown()}")
