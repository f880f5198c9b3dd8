"""The projectors every tenant runs, each folding the log into its own schema."""

import asyncpg

from projections.projector import Projector
from projections.registry.fold import fold as fold_registry
from projections.tracking.fold import fold as fold_tracking
from schemas import files_in
from tracker.eventlog.registry_events import REGISTRY_EVENTS

TRACKING_PROJECTOR = "tracking"
REGISTRY_PROJECTOR = "registry"


def tracking_projector(pool: asyncpg.Pool, batch_size: int = 2000) -> Projector:
    return Projector(
        pool,
        name=TRACKING_PROJECTOR,
        fold=fold_tracking,
        definition=files_in("read_models") / "tracking.sql",
        schema="rm",
        batch_size=batch_size,
    )


def registry_projector(pool: asyncpg.Pool, batch_size: int = 2000) -> Projector:
    return Projector(
        pool,
        name=REGISTRY_PROJECTOR,
        fold=fold_registry,
        definition=files_in("read_models") / "registry.sql",
        schema="registry_rm",
        event_types=REGISTRY_EVENTS,
        batch_size=batch_size,
    )


def tenant_projectors(pool: asyncpg.Pool, batch_size: int = 2000) -> list[Projector]:
    """Every projector of a tenant; ``read_scopes`` says which a read waits for."""
    return [tracking_projector(pool, batch_size), registry_projector(pool, batch_size)]
