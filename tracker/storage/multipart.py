"""The multipart uploads of one bucket: started, filled, completed or aborted.

A multipart upload keeps storage until it is completed or aborted, and S3
does not list its parts as objects, so a forgotten one is invisible and
costly. Every upload this process streams is therefore aborted before its
error propagates, and ``abort_stale`` sweeps up after a crashed process or a
client that never finished the presigned uploads it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
from typing import Any

import structlog

from tracker.errors import InvalidParameter, TrackerError
from tracker.storage.client import S3Client
from tracker.storage.errors import s3_errors
from tracker.storage.records import StoredObject, unquote_etag
from tracker.storage.streams import PartSplitter

__all__ = ["MultipartUploads"]

log = structlog.get_logger("calabi.storage")

# Parts sent to S3 at once while the next one fills from the client: the
# client's bytes and S3's writes overlap, and a streamed upload holds at most
# this many parts plus the filling one in memory.
PARTS_IN_FLIGHT = 2


class MultipartUploads:
    """The multipart-upload calls of S3, for one bucket.

    Args:
        client: A client from ``open_s3``.
        bucket: The bucket the uploads go to.
    """

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        # Aborts that must outlive a second cancellation of their caller.
        self._aborts: set[asyncio.Task[None]] = set()

    async def start(self, key: str, content_type: str | None = None) -> str:
        """Start a multipart upload of ``key`` and return its upload id."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type is not None:
            params["ContentType"] = content_type

        with self._errors("start a multipart upload of", key):
            response = await self.client.create_multipart_upload(**params)

        upload_id: str = response["UploadId"]
        return upload_id

    async def upload_from(
        self, key: str, parts: PartSplitter, content_type: str | None
    ) -> StoredObject:
        """Upload every part ``parts`` yields as ``key``, aborting on any failure.

        A cancellation aborts the upload too, and the abort finishes even if
        the caller is cancelled again meanwhile.
        """
        upload_id = await self.start(key, content_type)

        uploading: set[asyncio.Task[tuple[int, str]]] = set()
        try:
            etags: list[tuple[int, str]] = []
            number = 0
            while (part := await parts.next_part()) is not None:
                number += 1
                if len(uploading) >= PARTS_IN_FLIGHT:
                    etags += await _first_done(uploading)
                uploading.add(
                    asyncio.ensure_future(
                        self._put_numbered_part(key, upload_id, number, part)
                    )
                )
                # The task holds the part now; let go of it here, or one more
                # part than the bound stays in memory while the next fills.
                del part
            while uploading:
                etags += await _first_done(uploading)
            etag, version_id = await self.complete(key, upload_id, etags)
        except BaseException:
            for task in uploading:
                task.cancel()
            await asyncio.gather(*uploading, return_exceptions=True)
            await self._abort_after_failure(key, upload_id)
            raise

        return StoredObject(
            key=key,
            size=parts.size,
            etag=etag,
            version_id=version_id,
            sha256=parts.sha256.hexdigest(),
        )

    async def complete(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> tuple[str, str | None]:
        """Join the parts; return the object's ETag and version id.

        Args:
            key: The object's key.
            upload_id: From ``start``.
            parts: ``(part_number, etag)`` of every part, in any order; the
                ETags may keep their quotes.
        """
        # S3 wants the parts in ascending order, and quoted ETags.
        listed = [
            {"PartNumber": number, "ETag": f'"{unquote_etag(etag)}"'}
            for number, etag in sorted(parts)
        ]

        with self._errors("complete the multipart upload of", key, upload_id):
            response = await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )

        return unquote_etag(response["ETag"]), response.get("VersionId")

    async def abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload and drop the parts uploaded so far."""
        with self._errors("abort the multipart upload of", key, upload_id):
            await self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id
            )

    async def abort_stale(self, older_than_seconds: int) -> int:
        """Abort the uploads started ``older_than_seconds`` ago or earlier.

        The ages come from the store's clock, compared with this machine's.

        Returns:
            How many uploads were aborted.
        """
        now = datetime.datetime.now(datetime.UTC)
        cutoff = now - datetime.timedelta(seconds=older_than_seconds)
        params: dict[str, Any] = {"Bucket": self.bucket}
        aborted = 0

        while True:
            with self._errors("list the multipart uploads in"):
                page = await self.client.list_multipart_uploads(**params)

            for upload in page.get("Uploads", ()):
                if upload["Initiated"] > cutoff:
                    continue
                # Completed or aborted by someone else in the meantime.
                with contextlib.suppress(InvalidParameter):
                    await self.abort(upload["Key"], upload["UploadId"])
                    aborted += 1

            if not page.get("IsTruncated"):
                return aborted
            params["KeyMarker"] = page["NextKeyMarker"]
            params["UploadIdMarker"] = page["NextUploadIdMarker"]

    async def _put_numbered_part(
        self, key: str, upload_id: str, number: int, body: io.BytesIO
    ) -> tuple[int, str]:
        return number, await self._put_part(key, upload_id, number, body)

    async def _put_part(
        self, key: str, upload_id: str, number: int, body: io.BytesIO
    ) -> str:
        with self._errors("upload a part of", key, upload_id):
            response = await self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
            )

        etag: str = response["ETag"]
        return etag

    async def _abort_after_failure(self, key: str, upload_id: str) -> None:
        # Shielded: a caller cancelled once more while the abort runs still
        # gets its cancellation, and the abort still finishes.
        task = asyncio.ensure_future(self._abort_logging_failure(key, upload_id))
        self._aborts.add(task)
        task.add_done_callback(self._aborts.discard)

        await asyncio.shield(task)

    async def _abort_logging_failure(self, key: str, upload_id: str) -> None:
        # The error that made us abort is the one to raise; a failed abort is
        # only logged, and abort_stale cleans up later.
        try:
            await self.abort(key, upload_id)
        except TrackerError as error:
            log.warning(
                "multipart_abort_failed",
                bucket=self.bucket,
                key=key,
                upload_id=upload_id,
                error=error.message,
            )

    def _errors(
        self, action: str, key: str | None = None, upload_id: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        return s3_errors(action, bucket=self.bucket, key=key, upload_id=upload_id)


async def _first_done(
    uploading: set[asyncio.Task[tuple[int, str]]],
) -> list[tuple[int, str]]:
    """Wait for one or more part uploads to finish; raise the first failure."""
    done, _ = await asyncio.wait(uploading, return_when=asyncio.FIRST_COMPLETED)
    uploading -= done

    outcomes = await asyncio.gather(*done, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
