"""Reading tenant, user and role out of verified claims and proxy headers."""

import pytest

from tracker.auth.identity import checked_user, usable_user
from tracker.auth.oidc import claim, highest_role
from tracker.auth.roles import Role, parse_role
from tracker.errors import InvalidParameter, Unauthenticated


def test_a_dotted_claim_reaches_into_nested_objects() -> None:
    claims = {"realm_access": {"roles": ["editor"]}, "sub": "alice"}

    assert claim(claims, "realm_access.roles") == ["editor"]
    assert claim(claims, "realm_access.missing") is None
    assert claim(claims, "sub.deeper") is None


def test_the_highest_known_role_of_a_list_wins() -> None:
    assert highest_role(["offline_access", "viewer", "admin"], Role.VIEWER) == (
        Role.ADMIN
    )


def test_a_single_role_name_counts_like_a_list_of_one() -> None:
    assert highest_role("Editor", Role.VIEWER) == Role.EDITOR


@pytest.mark.parametrize("names", [None, [], ["uma_authorization"], 7, {"a": 1}])
def test_without_a_known_role_the_default_applies(names: object) -> None:
    assert highest_role(names, Role.VIEWER) == Role.VIEWER


def test_an_unknown_role_name_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="use one of viewer, editor, admin"):
        parse_role("owner")


@pytest.mark.parametrize("user", ["", "   ", "a\nb", "a\x1b[31m", "x" * 257, 5])
def test_unusable_user_names_are_refused(user: object) -> None:
    assert not usable_user(user)
    with pytest.raises(Unauthenticated):
        checked_user(user, "token")


def test_an_email_address_is_a_usable_user_name() -> None:
    assert checked_user("carol@example.com", "token") == "carol@example.com"
