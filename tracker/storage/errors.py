"""The one choke point where S3's errors become the tracker's.

Every S3 call runs inside ``s3_errors``, which turns what botocore and its
transport raise into the tracker's errors: a store that cannot be reached,
times out, fails or refuses our credentials is ``Unavailable``; a missing
key or version is ``NotFound``; a request that the caller got wrong, such as
an unknown multipart upload or a bad part list, is ``InvalidParameter``.
Anything else, such as an error from a caller's own chunk iterator, passes
through untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import aiohttp

# botocore ships no type hints, and its stubs are no dependency of ours.
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ParamValidationError,
)

from tracker.errors import (
    AlreadyExists,
    InvalidParameter,
    NotFound,
    TrackerError,
    Unavailable,
)

__all__ = ["s3_errors"]

# S3 error codes, as botocore reports them, that come from what the caller
# asked for rather than from the store's state.
_NOT_FOUND_CODES: Final = frozenset(
    {"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound", "404"}
)
_CALLER_ERROR_CODES: Final = frozenset(
    {
        "BadDigest",
        "EntityTooLarge",
        "EntityTooSmall",
        "InvalidArgument",
        "InvalidDigest",
        "InvalidPart",
        "InvalidPartOrder",
        "InvalidRange",
        "KeyTooLongError",
    }
)


@contextlib.contextmanager
def s3_errors(
    action: str,
    *,
    bucket: str,
    key: str | None = None,
    version_id: str | None = None,
    upload_id: str | None = None,
) -> Iterator[None]:
    """Translate what an S3 call raises into the tracker's errors.

    Args:
        action: A verb phrase that reads well before the key or the bucket:
            "cannot <action> 'runs/1/model.pkl' in bucket 'calabi-acme'".
        bucket: The bucket the call works on.
        key: The object's key, if the call concerns one.
        version_id: The version asked for, if any.
        upload_id: The multipart upload concerned, if any.
    """
    try:
        yield
    except ClientError as error:
        raise _client_error(
            error,
            action,
            bucket=bucket,
            key=key,
            version_id=version_id,
            upload_id=upload_id,
        ) from error
    except ParamValidationError as error:
        subject = _subject(bucket, key)
        raise InvalidParameter(f"cannot {action} {subject}: {error}") from error
    except (BotoCoreError, aiohttp.ClientError, OSError) as error:
        # Connection refused or reset, timeouts, truncated bodies, and
        # missing credentials; TimeoutError is an OSError.
        raise Unavailable(
            f"artifact store unavailable: cannot {action} {_subject(bucket, key)}: "
            f"{error or type(error).__name__}"
        ) from error


def _client_error(
    error: ClientError,
    action: str,
    *,
    bucket: str,
    key: str | None,
    version_id: str | None,
    upload_id: str | None,
) -> TrackerError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = details.get("Message") or code
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)

    if code == "NoSuchUpload":
        return InvalidParameter(
            f"multipart upload {upload_id!r} of artifact {key!r} does not exist: "
            "it was completed or aborted, or never started"
        )
    if code == "NoSuchBucket" or (key is None and status == 404):
        return NotFound(f"artifact bucket {bucket!r} does not exist")
    if code in _NOT_FOUND_CODES or status == 404:
        if version_id is not None:
            return NotFound(
                f"version {version_id!r} of artifact {key!r} does not exist"
            )
        return NotFound(f"artifact {key!r} does not exist")
    if code == "BucketAlreadyOwnedByYou":
        return AlreadyExists(f"artifact bucket {bucket!r} already exists")
    if code in _CALLER_ERROR_CODES:
        return InvalidParameter(f"cannot {action} {key!r}: {message}")

    # Everything else is the store's problem, not the caller's: 5xx and
    # throttling, and also refused credentials or permissions, which mean the
    # server is misconfigured and cannot serve artifacts until fixed.
    return Unavailable(
        f"artifact store unavailable: cannot {action} {_subject(bucket, key)}: "
        f"{code or status} {message}"
    )


def _subject(bucket: str, key: str | None) -> str:
    if key is None:
        return f"bucket {bucket!r}"

    return f"{key!r} in bucket {bucket!r}"
