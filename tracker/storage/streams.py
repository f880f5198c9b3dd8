"""Bodies in motion: a download read chunk by chunk, an upload cut into parts."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Final, Self

from tracker.storage.errors import s3_errors
from tracker.storage.records import unquote_etag

__all__ = ["CHUNK_SIZE", "ObjectStream", "PartSplitter"]

# The size of the chunks a download yields.
CHUNK_SIZE: Final = 256 * 1024


class ObjectStream:
    """The body of one object, read chunk by chunk.

    Iterate it with ``async for``. The connection goes back to the client's
    pool when the body has been read to its end; ``aclose`` (or leaving an
    ``async with`` block) gives it up early.

    Attributes:
        key: The object's key.
        content_length: The bytes this stream yields: the range's length for
            a ranged read.
        content_type: The object's Content-Type, if it has one.
        etag: The object's ETag, without the quotes.
        version_id: The version read, or None in an unversioned bucket.
        content_range: The ``Content-Range`` value of a ranged read, as in
            ``bytes 0-99/1234``; None for a whole object.
    """

    def __init__(self, key: str, bucket: str, response: dict[str, Any]) -> None:
        self.key = key
        self.content_length: int = response["ContentLength"]
        self.content_type: str | None = response.get("ContentType")
        self.etag = unquote_etag(response.get("ETag", ""))
        self.version_id: str | None = response.get("VersionId")
        self.content_range: str | None = response.get("ContentRange")
        self._bucket = bucket
        self._body = response["Body"]
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration

        try:
            with s3_errors("download", bucket=self._bucket, key=self.key):
                chunk: bytes = await self._body.read(CHUNK_SIZE)
        except BaseException:
            self._close()
            raise

        if not chunk:
            self._close()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Stop reading; the rest of the body is not fetched."""
        self._close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        # After the last byte aiohttp has already returned the connection to
        # the pool, and this does nothing; before it, the connection holds an
        # unread body and cannot be reused, so it is closed.
        if not self._closed:
            self._closed = True
            self._body.close()


class PartSplitter:
    """Cuts a stream of chunks into parts of ``part_size`` bytes, the last shorter.

    It counts and hashes the bytes on the way, and copies each byte once: into
    the part it belongs to. A part is a BytesIO, filled by writes rather than
    made from bytes, so that aiohttp can send it without a copy (a BytesIO made
    from bytes copies them when aiohttp asks for its buffer) and botocore can
    rewind it for a retry. The splitter never keeps a part it has handed out,
    so at most about one part of a body is held in memory at a time.

    Attributes:
        size: The bytes read from the stream so far.
        sha256: Their running SHA-256.
    """

    def __init__(self, chunks: AsyncIterator[bytes], part_size: int) -> None:
        self.size = 0
        self.sha256 = hashlib.sha256()
        self._chunks = chunks
        self._part_size = part_size
        self._pending = memoryview(b"")
        self._source_done = False
        self._first: io.BytesIO | None = None

    async def fits_in_one_part(self) -> bool:
        """Read the first part, and tell whether it holds the whole stream."""
        self._first = await self._fill()

        return self._source_done and not self._pending

    async def next_part(self) -> io.BytesIO | None:
        """Return the next part, or None once every byte is in a part."""
        if self._first is not None:
            part, self._first = self._first, None
            return part

        return await self._fill()

    async def _fill(self) -> io.BytesIO | None:
        part = io.BytesIO()

        while part.tell() < self._part_size:
            if not self._pending:
                if self._source_done:
                    break
                await self._pull()
                continue
            room = self._part_size - part.tell()
            part.write(self._pending[:room])
            self._pending = self._pending[room:]

        if part.tell() == 0:
            return None
        part.seek(0)
        return part

    async def _pull(self) -> None:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            self._source_done = True
            return

        self.size += len(chunk)
        self.sha256.update(chunk)
        self._pending = memoryview(chunk)
