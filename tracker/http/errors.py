"""The one place where the tracker's errors become MLflow error responses."""

import msgspec
from aiohttp import web

from tracker import errors

# MLflow's error codes and the HTTP statuses its server gives them.  Note
# RESOURCE_ALREADY_EXISTS is 400, not 409, and INVALID_STATE is 500.
MLFLOW_ERRORS: dict[type[errors.TrackerError], tuple[str, int]] = {
    errors.InvalidParameter: ("INVALID_PARAMETER_VALUE", 400),
    errors.NotFound: ("RESOURCE_DOES_NOT_EXIST", 404),
    errors.AlreadyExists: ("RESOURCE_ALREADY_EXISTS", 400),
    errors.InvalidState: ("INVALID_STATE", 500),
    errors.EndpointNotFound: ("ENDPOINT_NOT_FOUND", 404),
    errors.NotImplementedByServer: ("NOT_IMPLEMENTED", 501),
    errors.ConcurrencyConflict: ("ABORTED", 409),
    errors.Unavailable: ("TEMPORARILY_UNAVAILABLE", 503),
    errors.Unauthenticated: ("UNAUTHENTICATED", 401),
    errors.PermissionDenied: ("PERMISSION_DENIED", 403),
    # MLflow has no code of its own for an oversized body; the status says it.
    errors.PayloadTooLarge: ("INVALID_PARAMETER_VALUE", 413),
}

# RFC 6750's challenge; "invalid_token" when credentials were sent but refused.
# No Basic challenge: it would make browsers open their own login dialog.
BEARER_CHALLENGE = 'Bearer realm="calabi"'
REFUSED_CHALLENGE = 'Bearer realm="calabi", error="invalid_token"'


class ErrorBody(msgspec.Struct):
    error_code: str
    message: str


_encode = msgspec.json.Encoder().encode


def mlflow_error_code(error: errors.TrackerError) -> tuple[str, int]:
    for cls in type(error).__mro__:
        if cls in MLFLOW_ERRORS:
            return MLFLOW_ERRORS[cls]
    return ("INTERNAL_ERROR", 500)


def error_response(error: errors.TrackerError) -> web.Response:
    code, status = mlflow_error_code(error)
    headers = {"Retry-After": "1"} if status == 503 else None
    if isinstance(error, errors.Unauthenticated):
        challenge = REFUSED_CHALLENGE if error.credentials_refused else BEARER_CHALLENGE
        headers = {"WWW-Authenticate": challenge}

    return web.Response(
        status=status,
        body=_encode(ErrorBody(code, error.message)),
        content_type="application/json",
        headers=headers,
    )


def internal_error_response() -> web.Response:
    body = ErrorBody("INTERNAL_ERROR", "The server failed to handle the request.")
    return web.Response(status=500, body=_encode(body), content_type="application/json")
