"""What the object store reports about objects: as written, and as found."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

__all__ = ["ObjectInfo", "StoredObject", "unquote_etag"]


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object as it was written.

    Attributes:
        key: The object's key in the bucket.
        size: Its length in bytes.
        etag: The ETag S3 gave it, without the quotes.
        version_id: The version written, or None in an unversioned bucket.
        sha256: The hex SHA-256 of the body, when the bytes went through this
            process; None for uploads a client sent to presigned URLs.
    """

    key: str
    size: int
    etag: str
    version_id: str | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What S3 tells about an object without its body.

    ``version_id`` and ``content_type`` are None in listings, which do not
    report them.
    """

    key: str
    size: int
    etag: str
    last_modified: datetime.datetime
    version_id: str | None = None
    content_type: str | None = None


def unquote_etag(etag: str) -> str:
    """An ETag as S3 sends it, in double quotes, without them."""
    return etag.strip('"')
