"""Serving the UI's build: ``index.html`` at the prefix, assets under it.

The build's ``index.html`` loads ``static-files/static/js/main.<hash>.js``
by a relative URL, and the UI addresses the API relatively too
(``ajax-api/...``, ``graphql``), so one build serves under any prefix as
long as the page's URL ends in a slash.
"""

from pathlib import Path

from aiohttp import web

from tracker.errors import NotFound

# Hashed assets never change under their name; MLflow caches them 28 days.
ASSET_MAX_AGE = 28 * 24 * 3600

MISSING_BUILD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MLflow UI not installed</title>
</head><body>
<h1>The MLflow web UI is not installed</h1>
<p>The API is running; only the web interface's files are missing from
<code>{directory}</code>.</p>
<p>Fetch them with <code>make venv</code>, or with
<code>python -m tracker.ui.fetch_build</code> from the project folder, then
reload this page.  <code>CALABI_UI_BUILD</code> may name another folder that
holds a build.</p>
</body></html>
"""


class UiBuild:
    """Handlers serving one build folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def index(self, request: web.Request) -> web.StreamResponse:
        index = self.directory / "index.html"
        if not index.is_file():
            return web.Response(
                status=503,
                text=MISSING_BUILD_PAGE.format(directory=self.directory),
                content_type="text/html",
                headers={"Cache-Control": "no-store"},
            )

        # Revalidated on every load, so a new build reaches browsers at once.
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    async def asset(self, request: web.Request) -> web.StreamResponse:
        path = self._inside_build(request.match_info["path"])

        return web.FileResponse(
            path, headers={"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"}
        )

    def _inside_build(self, relative: str) -> Path:
        """The file ``relative`` names, refusing anything outside the build."""
        root = self.directory.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            raise NotFound(f"No static file {relative!r}")

        return candidate


async def to_trailing_slash(request: web.Request) -> web.StreamResponse:
    """Send ``<prefix>`` to ``<prefix>/``, where the page's relative URLs work."""
    raise web.HTTPMovedPermanently(request.path + "/")
