"""The embedded S3 server's readiness probe: one signed bucket and object PUT.

It signs its two requests itself, so that it needs only the standard library.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import urllib.error
import urllib.request

from tracker.embedded.seaweed_state import S3Endpoint

__all__ = ["PROBE_BUCKET", "PROBE_KEY", "probe_write"]

PROBE_BUCKET = "embedded-s3-readiness"
PROBE_KEY = "probe"


def probe_write(endpoint: S3Endpoint) -> None:
    """Write the probe object, creating its bucket if needed.

    Raises:
        OSError: The server refused the write or is not reachable yet.
        http.client.HTTPException: The server answered with a broken response.
    """
    # 409 BucketAlreadyOwnedByYou: an earlier start created it.
    try:
        _signed_put(endpoint, f"/{PROBE_BUCKET}", b"")
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise

    _signed_put(endpoint, f"/{PROBE_BUCKET}/{PROBE_KEY}", b"ok")


def _signed_put(endpoint: S3Endpoint, path: str, body: bytes) -> None:
    # AWS Signature Version 4 with the payload's hash signed, for paths that
    # need no percent-encoding and requests without a query string.
    now = datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{now:%Y%m%d}/{endpoint.region}/s3/aws4_request"
    host = endpoint.endpoint_url.removeprefix("http://")
    payload_hash = hashlib.sha256(body).hexdigest()

    headers = {
        "host": host,
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": amz_date,
    }
    signed_headers = ";".join(headers)
    canonical_request = "\n".join(
        [
            "PUT",
            path,
            "",
            *(f"{name}:{value}" for name, value in headers.items()),
            "",
            signed_headers,
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{endpoint.secret_key}".encode()
    for part in scope.split("/"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, string_to_sign.encode(), "sha256").hexdigest()

    request = urllib.request.Request(
        endpoint.endpoint_url + path, data=body, method="PUT"
    )
    request.add_header("x-amz-content-sha256", payload_hash)
    request.add_header("x-amz-date", amz_date)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={endpoint.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}",
    )
    with urllib.request.urlopen(request, timeout=5):
        pass
