"""Artifact objects in S3: one ``ObjectStore`` per tenant bucket.

Bodies stream in both directions. An upload is cut into parts of
``PART_SIZE`` bytes as its chunks arrive, so at most a few parts are held in
memory whatever the size of the body (``multipart.PARTS_IN_FLIGHT`` on their
way to S3, one filling); a body shorter than one part goes up
in a single PutObject, a longer one as a multipart upload that is aborted if
anything goes wrong. Every S3 call runs inside ``s3_errors``, so callers see
only the tracker's errors.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any, Final

from tracker.errors import AlreadyExists, InvalidParameter, NotFound
from tracker.storage.client import S3Client
from tracker.storage.errors import s3_errors
from tracker.storage.multipart import MultipartUploads
from tracker.storage.records import ObjectInfo, StoredObject, unquote_etag
from tracker.storage.streams import ObjectStream, PartSplitter

__all__ = ["MAX_PRESIGN_SECONDS", "MIN_PART_SIZE", "PART_SIZE", "ObjectStore"]

MiB: Final = 1024 * 1024

# Parts of a streamed upload. S3 wants at least 5 MiB in every part but the
# last and at most 10 000 parts, so 8 MiB parts carry bodies up to 78 GiB.
PART_SIZE: Final = 8 * MiB
MIN_PART_SIZE: Final = 5 * MiB
MAX_PARTS: Final = 10_000

# SigV4 presigned URLs live at most a week.
MAX_PRESIGN_SECONDS: Final = 7 * 24 * 3600


class ObjectStore:
    """The objects of one bucket.

    Args:
        client: A client from ``open_s3``.
        bucket: The bucket, one per tenant.
        part_size: The part size of streamed multipart uploads.
    """

    def __init__(
        self, client: S3Client, bucket: str, *, part_size: int = PART_SIZE
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")

        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self._multipart = MultipartUploads(client, bucket)

    async def ensure_bucket(self, versioning: bool = True) -> bool:
        """Create the bucket if it is missing, and turn versioning on if asked.

        Args:
            versioning: Enable versioning. If False, versioning is left as
                it is.

        Returns:
            Whether versioning is enabled on the bucket now.
        """
        try:
            with self._errors("look up"):
                await self.client.head_bucket(Bucket=self.bucket)
        except NotFound:
            await self._create_bucket()

        with self._errors("configure versioning of"):
            if versioning:
                await self.client.put_bucket_versioning(
                    Bucket=self.bucket,
                    VersioningConfiguration={"Status": "Enabled"},
                )
            state = await self.client.get_bucket_versioning(Bucket=self.bucket)

        enabled: bool = state.get("Status") == "Enabled"
        return enabled

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
    ) -> StoredObject:
        """Store the bytes ``chunks`` yields as the object ``key``.

        A body shorter than one part is sent with one PutObject; a longer one
        as a multipart upload, which is aborted if anything goes wrong,
        including an error from ``chunks`` or a cancellation.

        Args:
            key: The object's key.
            chunks: The body, in chunks of any size.
            content_type: The object's Content-Type; S3's default if None.

        Returns:
            What was stored, with the body's size and SHA-256.
        """
        parts = PartSplitter(chunks, self.part_size)

        if await parts.fits_in_one_part():
            return await self._put_whole(key, parts, content_type)

        return await self._multipart.upload_from(key, parts, content_type)

    async def get_stream(
        self,
        key: str,
        *,
        byte_range: tuple[int, int | None] | None = None,
        version_id: str | None = None,
    ) -> ObjectStream:
        """Start reading the object ``key``.

        Args:
            key: The object's key.
            byte_range: ``(first, last)``, the offsets of the first and the
                last byte to read, both included as in an HTTP Range; ``last``
                None reads to the end.
            version_id: The version to read; the current one if None.

        Returns:
            The open body and what S3 said about it. Read it to its end or
            close it.

        Raises:
            NotFound: The key or the version does not exist.
            InvalidParameter: The range is malformed or starts past the end.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            params["Range"] = _range_header(byte_range)
        if version_id is not None:
            params["VersionId"] = version_id

        with self._errors("download", key, version_id=version_id):
            response = await self.client.get_object(**params)

        return ObjectStream(key, self.bucket, response)

    async def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """Describe the object ``key``, or return None if it does not exist.

        A key whose current version is a delete marker does not exist.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id is not None:
            params["VersionId"] = version_id

        try:
            with self._errors("look up", key, version_id=version_id):
                response = await self.client.head_object(**params)
        except NotFound:
            return None

        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            etag=unquote_etag(response["ETag"]),
            last_modified=response["LastModified"],
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
        )

    async def delete(self, key: str) -> str | None:
        """Delete the object ``key``; deleting a missing key is no error.

        In a versioned bucket this adds a delete marker, and the versions
        before it stay readable by their ids.

        Returns:
            The delete marker's version id, or None in an unversioned bucket.
        """
        with self._errors("delete", key):
            response = await self.client.delete_object(Bucket=self.bucket, Key=key)

        if not response.get("DeleteMarker"):
            return None
        version_id: str | None = response.get("VersionId")
        return version_id

    async def list_prefix(
        self, prefix: str, *, page_size: int = 1000
    ) -> AsyncIterator[ObjectInfo]:
        """Yield the current objects whose keys start with ``prefix``, by key.

        Args:
            prefix: The start of the keys; "" lists the whole bucket.
            page_size: How many keys to ask S3 for at a time (at most 1000).
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "MaxKeys": page_size,
        }

        while True:
            with self._errors("list", prefix):
                page = await self.client.list_objects_v2(**params)

            for item in page.get("Contents", ()):
                yield ObjectInfo(
                    key=item["Key"],
                    size=item["Size"],
                    etag=unquote_etag(item["ETag"]),
                    last_modified=item["LastModified"],
                )

            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def presign_get(
        self, key: str, expires: int, version_id: str | None = None
    ) -> str:
        """Return a URL that lets anyone holding it GET the object for a while.

        Args:
            key: The object's key.
            expires: Seconds the URL stays valid, at most a week.
            version_id: The version to serve; the current one if None.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id is not None:
            params["VersionId"] = version_id

        return await self._presign("get_object", params, expires)

    async def presign_put(
        self, key: str, expires: int, content_type: str | None = None
    ) -> str:
        """Return a URL that lets anyone holding it PUT the object for a while.

        Args:
            key: The object's key.
            expires: Seconds the URL stays valid, at most a week.
            content_type: If given, it is signed into the URL, and the upload
                must send exactly this Content-Type.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type is not None:
            params["ContentType"] = content_type

        return await self._presign("put_object", params, expires)

    async def create_multipart(
        self, key: str, *, content_type: str | None = None
    ) -> str:
        """Start a multipart upload of ``key`` and return its upload id.

        The caller must complete or abort it; ``abort_stale_multiparts`` ends
        the ones that were forgotten.
        """
        return await self._multipart.start(key, content_type)

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, expires: int
    ) -> str:
        """Return a URL to PUT one part of a multipart upload.

        The response to that PUT carries the part's ETag in its ``ETag``
        header, which ``complete_multipart`` needs.

        Args:
            key: The object's key.
            upload_id: From ``create_multipart``.
            part_number: From 1 to 10 000.
            expires: Seconds the URL stays valid, at most a week.
        """
        if not 1 <= part_number <= MAX_PARTS:
            raise InvalidParameter(
                f"part number {part_number} is out of range: it must be "
                f"between 1 and {MAX_PARTS}"
            )
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }

        return await self._presign("upload_part", params, expires)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> StoredObject:
        """Join the uploaded parts into the object ``key``.

        Args:
            key: The object's key.
            upload_id: From ``create_multipart``.
            parts: ``(part_number, etag)`` of every part, in any order; the
                ETags may keep their quotes.

        Raises:
            InvalidParameter: The upload does not exist (any more), or a part
                is missing, too small or has another ETag.
        """
        etag, version_id = await self._multipart.complete(key, upload_id, parts)

        info = await self.head(key, version_id)
        if info is None:
            raise NotFound(f"artifact {key!r} vanished right after its upload")

        return StoredObject(
            key=key, size=info.size, etag=etag, version_id=version_id, sha256=None
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload and drop the parts uploaded so far.

        Raises:
            InvalidParameter: The upload does not exist (any more).
        """
        await self._multipart.abort(key, upload_id)

    async def abort_stale_multiparts(self, older_than_seconds: int) -> int:
        """Abort the bucket's multipart uploads started too long ago.

        The ages come from the store's clock, compared with this machine's.

        Args:
            older_than_seconds: The age from which an upload counts as stale.

        Returns:
            How many uploads were aborted.
        """
        return await self._multipart.abort_stale(older_than_seconds)

    async def _create_bucket(self) -> None:
        # us-east-1 is the one region that refuses to be named as a location.
        params: dict[str, Any] = {"Bucket": self.bucket}
        region = self.client.meta.region_name
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}

        # Another process may create it between our look-up and this call.
        with contextlib.suppress(AlreadyExists), self._errors("create"):
            await self.client.create_bucket(**params)

    async def _put_whole(
        self, key: str, parts: PartSplitter, content_type: str | None
    ) -> StoredObject:
        body = await parts.next_part() or io.BytesIO()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": body}
        if content_type is not None:
            params["ContentType"] = content_type

        with self._errors("upload", key):
            response = await self.client.put_object(**params)

        return StoredObject(
            key=key,
            size=parts.size,
            etag=unquote_etag(response["ETag"]),
            version_id=response.get("VersionId"),
            sha256=parts.sha256.hexdigest(),
        )

    async def _presign(self, method: str, params: dict[str, Any], expires: int) -> str:
        if not 1 <= expires <= MAX_PRESIGN_SECONDS:
            raise InvalidParameter(
                f"presigned URL expiry {expires} is out of range: it must be "
                f"between 1 and {MAX_PRESIGN_SECONDS} seconds"
            )

        with self._errors("presign a URL for", params["Key"]):
            url: str = await self.client.generate_presigned_url(
                ClientMethod=method, Params=params, ExpiresIn=expires
            )

        return url

    def _errors(
        self, action: str, key: str | None = None, *, version_id: str | None = None
    ) -> contextlib.AbstractContextManager[None]:
        return s3_errors(action, bucket=self.bucket, key=key, version_id=version_id)


def _range_header(byte_range: tuple[int, int | None]) -> str:
    first, last = byte_range
    if first < 0 or (last is not None and last < first):
        raise InvalidParameter(
            f"byte range {first}-{last} is malformed: it must start at 0 or "
            "later and end at or after its start"
        )

    return f"bytes={first}-{'' if last is None else last}"
