"""Every route the application serves, read from its router.

Tests that must cover every endpoint take the list from here rather than
from a list of their own, so a route added later is covered at once.
"""

import re

from tracker.config import Settings
from tracker.http.app import create_app

_PARAMETER = re.compile(r"\{(\w+)\}")


def served_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route, prefix included; no HEADs."""
    app = create_app(Settings(database_url="postgresql://never-connected"))
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    return sorted(routes, key=lambda route: (route[1], route[0]))


def concrete(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``.

    Raises:
        KeyError: a parameter has no value, as for a route added since the
            caller was written; it should decide what to send there.
    """
    return _PARAMETER.sub(lambda found: values[found.group(1)], template)
