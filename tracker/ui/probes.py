"""Answers to what the UI's pages probe for and this server does not offer.

MLflow 3's UI asks at every page load about telemetry, the signed-in user,
its assistant and AI gateway, and on some pages for GenAI traces, issues
and scorers.  Each page renders without them; what it needs is an answer it
understands: an empty result where an empty list is the truth, and MLflow's
own error JSON elsewhere, never an HTML error page.
"""

from collections.abc import Awaitable, Callable

from aiohttp import web

from tracker.api.fields import respond

Handler = Callable[[web.Request], Awaitable[web.Response]]


async def ui_telemetry_config(request: web.Request) -> web.Response:
    # The UI sends usage events only when the server says it may; it may not.
    return respond(
        {
            "disable_ui_telemetry": True,
            "disable_ui_events": [],
            "ui_rollout_percentage": 0,
        }
    )


async def ui_telemetry_records(request: web.Request) -> web.Response:
    return respond({"status": "disabled"})


async def gateway_proxy(request: web.Request) -> web.Response:
    # No AI gateway stands behind this server: it has no endpoints, which is
    # what MLflow answers when none is configured.
    return respond({"endpoints": []})


def nothing_in(field: str) -> Handler:
    """A handler answering an empty ``field`` list: GenAI lists this server lacks.

    The experiment pages of MLflow 3 list traces, trace metrics, issues,
    scorers and evaluation datasets beside the runs.  This server records
    none of them, so the true answer is an empty list, and the pages show
    their empty state instead of retrying an error.
    """

    async def answer_empty(request: web.Request) -> web.Response:
        return respond({field: []})

    return answer_empty
