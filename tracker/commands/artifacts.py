"""Recording artifact changes in the log, once the bytes are safely in S3.

The object store is written first and the event appended after: an upload
that fails leaves no event, and an event always names bytes that exist (a
versioned bucket keeps them even after a later overwrite or delete).
"""

from collections.abc import Sequence

from tracker.artifacts.paths import ArtifactOwner
from tracker.clock import now_ms
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import ArtifactDeleted, ArtifactStored, Event


async def record_stored(
    tx: WriteTransaction,
    owner: ArtifactOwner,
    *,
    size: int,
    etag: str,
    version_id: str | None,
) -> None:
    event = ArtifactStored(
        root=owner.root,
        path=owner.relative,
        size=size,
        etag=etag,
        version_id=version_id,
        stored_at=now_ms(),
    )
    await tx.append(owner.stream, owner.kind, [event])


async def record_deleted(
    tx: WriteTransaction,
    owner: ArtifactOwner,
    deleted: Sequence[tuple[str, str | None]],
) -> None:
    """Record ``(relative path, delete-marker version)`` pairs as deleted."""
    at = now_ms()
    events: list[Event] = [
        ArtifactDeleted(root=owner.root, path=path, version_id=version, deleted_at=at)
        for path, version in deleted
    ]
    if events:
        await tx.append(owner.stream, owner.kind, events)
