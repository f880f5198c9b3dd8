"""Which release of the MLflow web UI is served, and where its files live."""

import os
from pathlib import Path

from tracker.api.service import MLFLOW_PROTOCOL_VERSION

# The UI speaks the protocol of its own release, so it is pinned to ours.
UI_VERSION = MLFLOW_PROTOCOL_VERSION

# The build's place inside the released wheel.
WHEEL_BUILD_PREFIX = "mlflow/server/js/build/"

# Relative to the working directory, like the embedded servers' data.
DEFAULT_UI_ROOT = Path(".data/ui")
BUILD_ENV = "CALABI_UI_BUILD"


def build_directory() -> Path:
    """The folder holding ``index.html`` and ``static/``.

    ``CALABI_UI_BUILD`` names it when set; otherwise it is the fetched build
    of the pinned release under ``.data/ui/``.
    """
    configured = os.environ.get(BUILD_ENV)
    if configured:
        return Path(configured).absolute()

    return (DEFAULT_UI_ROOT / UI_VERSION).absolute()
