"""Roles within a tenant, and the one rule of which role each route needs.

Roles are ordered: an editor may do all a viewer may, an admin all an editor
may.  The role a route needs follows from its method (reads are GET), with
the few POST routes that only read listed by name, so a new route is
writable-only until someone decides otherwise.
"""

import enum
import re

from tracker.errors import InvalidParameter, PermissionDenied


class Role(enum.IntEnum):
    VIEWER = 1
    EDITOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = tuple(role.label for role in Role)

# Routes anyone may call: probes, what the client asks before signing in,
# the sign-in flow itself, and the web UI's static files (code, no data).
OPEN_ROUTES = frozenset(
    {
        "health",
        "version",
        "mlflow/server-info",
        "auth/login",
        "auth/callback",
        "auth/logout",
        "static-files/{path}",
    }
)
# POST routes that change nothing: MLflow's searches, the presigned download,
# the web UI's GraphQL (queries only) and the probes it answers with "off".
READ_ONLY_POSTS = frozenset(
    {
        "mlflow/runs/search",
        "mlflow/experiments/search",
        "mlflow/logged-models/search",
        "mlflow/artifacts/presigned-download-url",
        "mlflow/registered-models/get-latest-versions",
        "mlflow/experiments/search-datasets",
        "mlflow/ui-telemetry",
        "mlflow/gateway-proxy",
        "graphql",
    }
)
# Routes that manage the tenant itself rather than its tracking data.
ADMIN_ROUTES = frozenset(
    {"calabi/tokens/create", "calabi/tokens/list", "calabi/tokens/revoke"}
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_API_ROUTE = re.compile(r"^/(?:api|ajax-api)/[0-9]+\.[0-9]+/(.+)$")


def parse_role(name: str) -> Role:
    """The role named ``name`` (viewer, editor or admin)."""
    try:
        return Role[name.strip().upper()]
    except KeyError:
        msg = f"Invalid role {name!r}: use one of {', '.join(ROLE_NAMES)}."
        raise InvalidParameter(msg) from None


def route_key(path: str, prefix: str) -> str:
    """A route's path below the server prefix and API version.

    ``/mlflow/api/2.0/mlflow/runs/search`` and its ``ajax-api`` twin are both
    ``mlflow/runs/search``; ``/mlflow/health`` is ``health``.
    """
    below = path[len(prefix) :] if prefix and path.startswith(prefix) else path
    api = _API_ROUTE.match(below)

    return api.group(1) if api is not None else below.lstrip("/")


def required_role(method: str, route: str) -> Role | None:
    """The role that ``method`` on ``route`` needs; None for an open route."""
    if route in OPEN_ROUTES:
        return None
    if route in ADMIN_ROUTES:
        return Role.ADMIN
    if method in _READ_METHODS or (method == "POST" and route in READ_ONLY_POSTS):
        return Role.VIEWER
    return Role.EDITOR


def check_role(user: str, held: Role, needed: Role) -> None:
    """Raise PermissionDenied unless ``held`` covers ``needed``."""
    if held < needed:
        msg = (
            f"Permission denied: this operation needs the {needed.label} role; "
            f"'{user}' is a {held.label} of this tenant."
        )
        raise PermissionDenied(msg)
