"""MLflow's search language: filter strings and order_by clauses.

MLflow runs these through sqlparse and then inspects the token tree; the
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
written inside a quoted text by doubling it.  Parsing is in two passes: the
syntax pass yields clauses of tokens, and a pass per search (runs or
experiments) checks entities, keys, comparators and value types.  Every
rejection is an ``InvalidParameter`` worded as MLflow words it.
"""

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

import msgspec

from tracker.errors import InvalidParameter

Entity = Literal["metric", "param", "tag", "attribute", "dataset"]
Operator = Literal[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
]
Value = str | int | float | tuple[str, ...] | None


class Comparison(msgspec.Struct, frozen=True):
    """One clause of a filter, checked and normalised.

    ``key`` is canonical: attribute aliases such as ``created`` are already
    translated.  ``value`` is a ``str`` for string comparisons, a number for
    numeric ones, a tuple of strings for ``IN``/``NOT IN`` and ``None`` for
    ``IS NULL``/``IS NOT NULL``.
    """

    entity: Entity
    key: str
    op: Operator
    value: Value


class OrderKey(msgspec.Struct, frozen=True):
    """One order_by clause, checked and normalised."""

    entity: Entity
    key: str
    ascending: bool


def parse_run_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of a run search.

    Args:
        text: The filter string; ``None`` or blank matches every run.

    Returns:
        The comparisons the filter ANDs together, in the order written.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    return [_run_comparison(clause) for clause in _read_filter(text)]


def parse_experiment_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of an experiment search.

    Args:
        text: The filter string; ``None`` or blank matches every experiment.

    Returns:
        The comparisons the filter ANDs together, in the order written.
        ``experiment_id`` values stay strings, as MLflow parses them, but
        each is checked to be a 64-bit integer.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    return [_experiment_comparison(clause) for clause in _read_filter(text)]


def parse_run_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of a run search.

    Args:
        items: Clauses such as ``"metrics.loss DESC"``; ``None`` for none.

    Returns:
        One key per clause, in the order given.

    Raises:
        InvalidParameter: A clause is malformed, names something runs cannot
            be ordered by, or repeats an earlier key.
    """
    keys: list[OrderKey] = []
    for item in items or ():
        target, ascending = _read_order_item(item)
        entity, key = _run_target(target, _RUN_ORDER_ATTRIBUTES)
        if entity == "dataset":
            raise InvalidParameter(
                f"Invalid order_by entity type 'dataset' in '{item}'. Runs are "
                "ordered by metrics, params, tags or attributes"
            )

        order_key = OrderKey(entity, key, ascending)
        if any((k.entity, k.key) == (entity, key) for k in keys):
            raise InvalidParameter(f"`order_by` contains duplicate fields: {items}")
        keys.append(order_key)

    return keys


def parse_experiment_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of an experiment search.

    Args:
        items: Clauses such as ``"name ASC"``; ``None`` for none.

    Returns:
        One attribute key per clause, in the order given.

    Raises:
        InvalidParameter: A clause is malformed or names something other
            than ``name``, ``experiment_id``, ``creation_time`` or
            ``last_update_time``.
    """
    keys: list[OrderKey] = []
    for item in items or ():
        target, ascending = _read_order_item(item)
        entity, key = _experiment_target(target)
        if entity != "attribute":
            raise InvalidParameter(f"Invalid order_by entity: {entity}")
        keys.append(OrderKey(entity, key, ascending))

    return keys


# Tokens.


class _Kind(enum.Enum):
    NAME = "name"
    STRING = "string"
    NUMBER = "number"
    OPERATOR = "operator"
    OPEN = "("
    CLOSE = ")"
    COMMA = ","
    END = "end"


class _Part(NamedTuple):
    text: str
    quote: str  # "" for a bare word


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    raw: str
    position: int
    parts: tuple[_Part, ...] = ()
    string: str = ""
    number: int | float = 0

    @property
    def word(self) -> str | None:
        """The text of a lone bare word, the only shape a keyword can take."""
        if self.kind is _Kind.NAME and len(self.parts) == 1:
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
        if self.kind is _Kind.STRING:
            return self.string
        if self.kind is _Kind.NAME and len(self.parts) == 1:
            part = self.parts[0]
            if part.quote == '"':
                return part.text
        return None

    def shown(self) -> str:
        return "the end of the input" if self.kind is _Kind.END else f"'{self.raw}'"


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
_PUNCTUATION = {"(": _Kind.OPEN, ")": _Kind.CLOSE, ",": _Kind.COMMA}
# PostgreSQL text cannot hold NUL, and UTF-8 cannot encode lone surrogates;
# refusing them here keeps a bad filter from failing later in the driver.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _tokenize(text: str, subject: str) -> list[_Token]:
    """Split ``text`` into tokens, ending with an END token.

    ``subject`` names the text in errors, e.g. ``filter 'x = 1'``.
    """
    if unstorable := _UNSTORABLE.search(text):
        raise _lexical_error(
            subject, f"character {unstorable.group()!r} at {unstorable.start()}"
        )

    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if space := _SPACE.match(text, position):
            position = space.end()
            continue

        token = _read_token(text, position, subject)
        tokens.append(token)
        position += len(token.raw)

    tokens.append(_Token(_Kind.END, "", len(text)))
    return tokens


def _read_token(text: str, position: int, subject: str) -> _Token:
    char = text[position]
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], char, position)

    if number := _NUMBER.match(text, position):
        return _Token(_Kind.NUMBER, number.group(), position, number=_number(number))

    if operator := _OPERATOR.match(text, position):
        return _Token(_Kind.OPERATOR, operator.group(), position)

    if char == "'":
        string, end = _read_quoted(text, position, subject)
        return _Token(_Kind.STRING, text[position:end], position, string=string)

    if char in '`"' or _LEADING_WORD.match(text, position):
        parts, end = _read_name(text, position, subject)
        return _Token(_Kind.NAME, text[position:end], position, parts=parts)

    raise _lexical_error(subject, f"unexpected character {char!r} at {position}")


def _number(match: re.Match[str]) -> int | float:
    # Integers that do not fit a bigint become floats, so neither Python's
    # digit limit for int() nor PostgreSQL's bigint range can be hit later.
    text = match.group()
    if _INTEGER.fullmatch(text):
        integer = int(text)
        if _INT64_MIN <= integer <= _INT64_MAX:
            return integer
    return float(text)


def _read_quoted(text: str, position: int, subject: str) -> tuple[str, int]:
    quote = text[position]
    match = _QUOTED[quote].match(text, position)
    if match is None:
        raise _lexical_error(subject, f"unterminated {quote} quote at {position}")
    return match.group(1).replace(quote * 2, quote), match.end()


def _read_name(text: str, position: int, subject: str) -> tuple[tuple[_Part, ...], int]:
    parts: list[_Part] = []
    word = _LEADING_WORD
    while True:
        if position < len(text) and text[position] in '`"':
            quote = text[position]
            unquoted, position = _read_quoted(text, position, subject)
            parts.append(_Part(unquoted, quote))
        elif match := word.match(text, position):
            parts.append(_Part(match.group(), ""))
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
class _Clause:
    target: _Token
    comparator: str
    operand: _Token | tuple[_Token, ...] | None


class _Reader:
    """A cursor over tokens that stays on the END token once there."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def peek(self) -> _Token:
        return self._tokens[self._index]

    def take(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind is not _Kind.END:
            self._index += 1
        return token


def _read_filter(text: str | None) -> list[_Clause]:
    # MLflow ignores stray ANDs ("AND a = 'x' AND"), and so do we.
    if not text:
        return []

    reader = _Reader(_tokenize(text, f"filter '{text}'"))
    clauses: list[_Clause] = []
    while (token := reader.peek()).kind is not _Kind.END:
        if token.keyword == "AND":
            reader.take()
            continue

        clauses.append(_read_clause(reader))
        following = reader.peek()
        if following.kind is not _Kind.END and following.keyword != "AND":
            raise _invalid_clause(following)

    return clauses


def _read_clause(reader: _Reader) -> _Clause:
    target = reader.take()
    if target.kind is not _Kind.NAME or target.keyword is not None:
        raise _invalid_clause(target)

    comparator = _read_comparator(reader)
    operand: _Token | tuple[_Token, ...] | None
    if comparator in ("IS NULL", "IS NOT NULL"):
        operand = None
    elif comparator in ("IN", "NOT IN"):
        operand = _read_list(reader)
    else:
        operand = _read_value(reader)

    return _Clause(target, comparator, operand)


def _read_comparator(reader: _Reader) -> str:
    token = reader.take()
    if token.kind is _Kind.OPERATOR:
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


def _read_value(reader: _Reader) -> _Token:
    token = reader.take()
    is_value = token.kind in (_Kind.STRING, _Kind.NUMBER, _Kind.NAME)
    if not is_value or token.keyword is not None:
        raise InvalidParameter(
            f"Invalid comparison clause. Expected value token found {token.shown()}"
        )
    return token


def _read_list(reader: _Reader) -> tuple[_Token, ...]:
    ill_formed = InvalidParameter(
        "While parsing a list in the query, expected a non-empty list of string "
        "values, but got ill-formed list."
    )
    if reader.take().kind is not _Kind.OPEN:
        raise ill_formed

    items: list[_Token] = []
    while reader.peek().kind is not _Kind.CLOSE:
        if reader.peek().kind not in (_Kind.STRING, _Kind.NUMBER, _Kind.NAME):
            raise ill_formed
        items.append(reader.take())
        if reader.peek().kind is _Kind.COMMA:
            reader.take()
        elif reader.peek().kind is not _Kind.CLOSE:
            raise ill_formed
    reader.take()

    return tuple(items)


def _read_order_item(item: str) -> tuple[_Token, bool]:
    unparsable = InvalidParameter(
        f"Invalid order_by clause '{item}'. Could not be parsed."
    )
    reader = _Reader(_tokenize(item, f"order_by clause '{item}'"))
    target = reader.take()
    if target.kind is not _Kind.NAME:
        raise unparsable

    direction = reader.take()
    if direction.kind is _Kind.END:
        return target, True
    if direction.kind is not _Kind.NAME:
        raise unparsable

    word = (direction.word or "").lower()
    if word not in ("asc", "desc"):
        raise InvalidParameter(f"Invalid ordering key in order_by clause '{item}'.")
    if reader.take().kind is not _Kind.END:
        raise unparsable

    return target, word == "asc"


def _invalid_clause(token: _Token) -> InvalidParameter:
    return InvalidParameter(f"Invalid clause(s) in filter string: {token.shown()}")


# Meaning: what each search accepts.

_OPERATOR_ORDER: tuple[Operator, ...] = get_args(Operator)
_OPERATORS: dict[str, Operator] = {op: op for op in _OPERATOR_ORDER}
_NULL_TESTS: frozenset[Operator] = frozenset({"IS NULL", "IS NOT NULL"})
_LIST_TESTS: frozenset[Operator] = frozenset({"IN", "NOT IN"})
_NUMERIC_OPS: frozenset[Operator] = frozenset({"=", "!=", "<", "<=", ">", ">="})
_KEYED_STRING_OPS: frozenset[Operator] = frozenset({"=", "!=", "LIKE", "ILIKE"})
_LISTABLE_STRING_OPS = _KEYED_STRING_OPS | _LIST_TESTS

_RUN_ENTITIES: dict[str, Entity] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
_RUN_STRING_ATTRIBUTES = frozenset(
    {"artifact_uri", "run_id", "run_name", "status", "user_id"}
)
_RUN_NUMERIC_ATTRIBUTES = frozenset({"end_time", "start_time"})
_RUN_ATTRIBUTES = _RUN_STRING_ATTRIBUTES | _RUN_NUMERIC_ATTRIBUTES
_RUN_ATTRIBUTE_ALIASES = {
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
    "created": "start_time",
    "Created": "start_time",
}
# MLflow takes the run-name aliases in filters only, not in order_by.
_RUN_FILTER_ATTRIBUTES = _RUN_ATTRIBUTES | frozenset(_RUN_ATTRIBUTE_ALIASES)
_RUN_ORDER_ATTRIBUTES = _RUN_ATTRIBUTES | {"created", "Created"}
_RUN_LIST_ATTRIBUTES = frozenset({"run_id"})
_DATASET_KEYS = frozenset({"name", "digest", "context"})

_EXPERIMENT_ENTITIES: dict[str, Entity] = {
    "attribute": "attribute",
    "attributes": "attribute",
    "tag": "tag",
    "tags": "tag",
}
_EXPERIMENT_NUMERIC_ATTRIBUTES = frozenset({"creation_time", "last_update_time"})
_EXPERIMENT_ATTRIBUTES = _EXPERIMENT_NUMERIC_ATTRIBUTES | {"name", "experiment_id"}
_EXPERIMENT_ID_OPS: frozenset[Operator] = frozenset({"=", "!=", "IN", "NOT IN"})
_EXPERIMENT_ID = re.compile(r"[-+]?[0-9]{1,19}")


def _run_comparison(clause: _Clause) -> Comparison:
    entity, key = _run_target(clause.target, _RUN_FILTER_ATTRIBUTES)
    if clause.comparator in _NULL_TESTS and entity not in ("param", "tag"):
        raise InvalidParameter(
            "IS NULL / IS NOT NULL is only supported for tags and params, not for "
            f"'{entity}' '{key}'"
        )

    if entity == "metric":
        op = _operator(clause, _NUMERIC_OPS)
        number = _numeric_value(
            clause, f"Expected numeric value type for metric. Found {_shown(clause)}"
        )
        return Comparison(entity, key, op, float(number))

    if entity in ("param", "tag"):
        op = _operator(clause, _KEYED_STRING_OPS | _NULL_TESTS)
        if op in _NULL_TESTS:
            return Comparison(entity, key, op, None)
        noun = "parameter" if entity == "param" else "tag"
        return Comparison(entity, key, op, _string_value(clause, noun))

    if entity == "attribute" and key in _RUN_NUMERIC_ATTRIBUTES:
        op = _operator(clause, _NUMERIC_OPS)
        number = _numeric_value(
            clause,
            f"Expected numeric value type for numeric attribute: {key}. "
            f"Found {_shown(clause)}",
        )
        return Comparison(entity, key, op, number)

    op = _operator(clause, _LISTABLE_STRING_OPS)
    if op not in _LIST_TESTS:
        noun = "attributes" if entity == "attribute" else "dataset attributes"
        return Comparison(entity, key, op, _string_value(clause, noun))
    if entity == "attribute" and key not in _RUN_LIST_ATTRIBUTES:
        raise InvalidParameter(
            f"Only {sorted(_RUN_LIST_ATTRIBUTES)} attributes support comparison "
            "with a list of quoted string values."
        )
    return Comparison(entity, key, op, _string_list(clause))


def _run_target(token: _Token, attributes: frozenset[str]) -> tuple[Entity, str]:
    prefix, key = _split_identifier(token)
    if prefix is None:
        entity: Entity = "attribute"
    elif prefix in _RUN_ENTITIES:
        entity = _RUN_ENTITIES[prefix]
    else:
        raise InvalidParameter(
            f"Invalid entity type '{prefix}'. Valid values are "
            "['metric', 'parameter', 'tag', 'attribute', 'dataset']"
        )

    if entity == "attribute":
        if key not in attributes:
            raise InvalidParameter(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"{sorted(attributes)}"
            )
        key = _RUN_ATTRIBUTE_ALIASES.get(key, key)
    elif entity == "dataset" and key not in _DATASET_KEYS:
        raise InvalidParameter(
            f"Invalid dataset key '{key}' specified. Valid keys are "
            f"{sorted(_DATASET_KEYS)}"
        )

    return entity, key


def _experiment_comparison(clause: _Clause) -> Comparison:
    entity, key = _experiment_target(clause.target)
    if entity == "tag":
        op = _operator(clause, _KEYED_STRING_OPS | _NULL_TESTS)
        if op in _NULL_TESTS:
            return Comparison(entity, key, op, None)
        return Comparison(entity, key, op, _string_value(clause, "tag"))

    if clause.comparator in _NULL_TESTS:
        raise InvalidParameter(
            "IS NULL / IS NOT NULL is only supported for tags, not for attribute "
            f"'{key}'"
        )

    if key in _EXPERIMENT_NUMERIC_ATTRIBUTES:
        return _experiment_time_comparison(clause, key)

    op = _operator(clause, _LISTABLE_STRING_OPS)
    if op in _LIST_TESTS and key != "experiment_id":
        raise InvalidParameter(
            "Only ['experiment_id'] attributes support comparison with a list of "
            "quoted string values."
        )
    if key == "name":
        return Comparison(entity, key, op, _string_value(clause, "attributes"))

    if op not in _EXPERIMENT_ID_OPS:
        raise InvalidParameter(f"Invalid comparator for experiment_id: {op}")
    if op in _LIST_TESTS:
        ids = _string_list(clause)
        for experiment_id in ids:
            _check_experiment_id(experiment_id)
        return Comparison(entity, key, op, ids)
    experiment_id = _string_value(clause, "attributes")
    _check_experiment_id(experiment_id)
    return Comparison(entity, key, op, experiment_id)


def _experiment_time_comparison(clause: _Clause, key: str) -> Comparison:
    op = _operator(clause, _NUMERIC_OPS)
    number = _numeric_value(
        clause,
        f"Expected numeric value type for numeric attribute: {key}. "
        f"Found {_shown(clause)}",
    )
    # MLflow's SQL store takes whole milliseconds only.
    if isinstance(number, float):
        raise InvalidParameter(
            f"Invalid value for numeric attribute '{key}': '{_shown(clause)}'"
        )
    return Comparison("attribute", key, op, number)


def _experiment_target(token: _Token) -> tuple[Entity, str]:
    prefix, key = _split_identifier(token)
    if prefix is None:
        entity: Entity = "attribute"
    elif prefix in _EXPERIMENT_ENTITIES:
        entity = _EXPERIMENT_ENTITIES[prefix]
    else:
        raise InvalidParameter(
            f"Invalid entity type '{prefix}'. Valid entity types are "
            "('attribute', 'attributes', 'tag', 'tags')"
        )

    if entity == "attribute" and key not in _EXPERIMENT_ATTRIBUTES:
        raise InvalidParameter(
            f"Invalid attribute key '{key}' specified. Valid keys are "
            f"{sorted(_EXPERIMENT_ATTRIBUTES)}"
        )

    return entity, key


def _check_experiment_id(text: str) -> None:
    if _EXPERIMENT_ID.fullmatch(text) and _INT64_MIN <= int(text) <= _INT64_MAX:
        return
    raise InvalidParameter(
        f"Invalid experiment ID '{text}'. Experiment ID must be a valid integer."
    )


def _split_identifier(token: _Token) -> tuple[str | None, str]:
    """Split ``entity.key`` into its entity word (None if bare) and key.

    An unquoted key may itself hold dots (``tags.mlflow.runName``); a quoted
    one must be the whole key (``tags.`mlflow.runName```).
    """
    first, *rest = token.parts
    if not rest:
        return None, first.text
    if len(rest) == 1:
        return first.text, rest[0].text
    if any(part.quote for part in rest):
        raise InvalidParameter(
            f"Invalid identifier '{token.raw}'. Quote the whole key after the "
            "entity, as in tags.`my.key`"
        )
    return first.text, ".".join(part.text for part in rest)


def _operator(clause: _Clause, allowed: frozenset[Operator]) -> Operator:
    op = _OPERATORS.get(clause.comparator)
    if op is None or op not in allowed:
        listed = ", ".join(f"'{o}'" for o in _OPERATOR_ORDER if o in allowed)
        raise InvalidParameter(
            f"Invalid comparator '{clause.comparator}' not one of {listed}"
        )
    return op


def _numeric_value(clause: _Clause, complaint: str) -> int | float:
    operand = clause.operand
    if isinstance(operand, _Token) and operand.kind is _Kind.NUMBER:
        return operand.number
    raise InvalidParameter(complaint)


def _string_value(clause: _Clause, noun: str) -> str:
    operand = clause.operand
    if not isinstance(operand, _Token):
        raise InvalidParameter(
            f"Expected a quoted string value for {noun}. Got {_shown(clause)}"
        )

    string = operand.quoted_string
    if string is not None:
        return string
    if operand.kind is _Kind.NAME:
        raise InvalidParameter(
            "Parameter value is either not quoted or unidentified quote types used "
            f"for string value {operand.raw}. Use either single or double quotes."
        )
    raise InvalidParameter(
        f"Expected a quoted string value for {noun} (e.g. 'my-value'). Got value "
        f"{operand.raw}"
    )


def _string_list(clause: _Clause) -> tuple[str, ...]:
    operand = clause.operand
    if not isinstance(operand, tuple) or not operand:
        raise InvalidParameter(
            "While parsing a list in the query, expected a non-empty list of string "
            "values, but got empty list"
        )

    strings: list[str] = []
    for item in operand:
        string = item.quoted_string
        if string is None:
            raise InvalidParameter(
                "While parsing a list in the query, expected string value, "
                "punctuation, or whitespace, but got different type in list: "
                f"{_shown(clause)}"
            )
        strings.append(string)

    return tuple(strings)


def _shown(clause: _Clause) -> str:
    operand = clause.operand
    if operand is None:
        return "nothing"
    if isinstance(operand, tuple):
        return "(" + ", ".join(item.raw for item in operand) + ")"
    return operand.raw
