"""Checks every search grammar makes of a clause: its name, comparator and value.

Each check raises ``InvalidParameter`` worded as MLflow words it; what a
search allows is the caller's to say.
"""

from collections.abc import Collection, Mapping
from typing import Literal, get_args

from projections.search.syntax import Clause, Kind, Token
from tracker.errors import InvalidParameter

# What a clause compares: a bare name is an attribute.
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

OPERATOR_ORDER: tuple[Operator, ...] = get_args(Operator)
NULL_TESTS: frozenset[Operator] = frozenset({"IS NULL", "IS NOT NULL"})
LIST_TESTS: frozenset[Operator] = frozenset({"IN", "NOT IN"})
NUMERIC_OPS: frozenset[Operator] = frozenset({"=", "!=", "<", "<=", ">", ">="})
KEYED_STRING_OPS: frozenset[Operator] = frozenset({"=", "!=", "LIKE", "ILIKE"})
LISTABLE_STRING_OPS = KEYED_STRING_OPS | LIST_TESTS

_BY_SPELLING: dict[str, Operator] = {op: op for op in OPERATOR_ORDER}


def split_identifier(token: Token) -> tuple[str | None, str]:
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


def split_target(
    token: Token,
    entities: Mapping[str, Entity],
    attributes: Collection[str],
    *,
    valid_entities: str,
) -> tuple[Entity, str]:
    """Split a clause's name into its entity and key, a bare key an attribute.

    Args:
        token: The name the clause compares.
        entities: The entity words the search takes, each with what it means.
        attributes: The attribute keys the search takes.
        valid_entities: The entity words as the search's error lists them,
            in MLflow's wording, which differs between searches.

    Raises:
        InvalidParameter: The entity word or the attribute key is unknown.
    """
    prefix, key = split_identifier(token)
    if prefix is None:
        entity: Entity = "attribute"
    elif prefix in entities:
        entity = entities[prefix]
    else:
        raise InvalidParameter(
            f"Invalid entity type '{prefix}'. Valid {valid_entities}"
        )

    if entity == "attribute" and key not in attributes:
        raise InvalidParameter(
            f"Invalid attribute key '{key}' specified. Valid keys are "
            f"{sorted(attributes)}"
        )

    return entity, key


def operator(clause: Clause, allowed: frozenset[Operator]) -> Operator:
    """Return the clause's comparator if it is one of ``allowed``.

    Raises:
        InvalidParameter: It is not, naming the ones that are.
    """
    op = _BY_SPELLING.get(clause.comparator)
    if op is None or op not in allowed:
        listed = ", ".join(f"'{o}'" for o in OPERATOR_ORDER if o in allowed)
        raise InvalidParameter(
            f"Invalid comparator '{clause.comparator}' not one of {listed}"
        )
    return op


def numeric_value(clause: Clause, complaint: str) -> int | float:
    """Return the clause's number.

    Raises:
        InvalidParameter: The value is not a number; ``complaint`` says so.
    """
    operand = clause.operand
    if isinstance(operand, Token) and operand.kind is Kind.NUMBER:
        return operand.number
    raise InvalidParameter(complaint)


def string_value(clause: Clause, noun: str) -> str:
    """Return the clause's quoted string.

    Raises:
        InvalidParameter: The value is not one; ``noun`` names what wanted it.
    """
    operand = clause.operand
    if not isinstance(operand, Token):
        raise InvalidParameter(
            f"Expected a quoted string value for {noun}. Got {shown(clause)}"
        )

    string = operand.quoted_string
    if string is not None:
        return string
    if operand.kind is Kind.NAME:
        raise InvalidParameter(
            "Parameter value is either not quoted or unidentified quote types used "
            f"for string value {operand.raw}. Use either single or double quotes."
        )
    raise InvalidParameter(
        f"Expected a quoted string value for {noun} (e.g. 'my-value'). Got value "
        f"{operand.raw}"
    )


def string_list(clause: Clause) -> tuple[str, ...]:
    """Return the quoted strings of the clause's non-empty list.

    Raises:
        InvalidParameter: The value is not such a list.
    """
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
                f"{shown(clause)}"
            )
        strings.append(string)

    return tuple(strings)


def shown(clause: Clause) -> str:
    """The clause's value as written, for error messages."""
    operand = clause.operand
    if operand is None:
        return "nothing"
    if isinstance(operand, tuple):
        return "(" + ", ".join(item.raw for item in operand) + ")"
    return operand.raw
