"""The errors the tracker raises.

Commands, queries and parsers raise these; the HTTP layer maps each class to
MLflow's ``error_code`` and HTTP status in one table (``tracker.http.errors``).
Nothing below knows about HTTP.
"""


class TrackerError(Exception):
    """Root of every error the tracker means to report to a caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(TrackerError):
    """A request field is missing, malformed or out of range."""


class NotFound(TrackerError):
    """The experiment, run or other entity asked for does not exist."""


class AlreadyExists(TrackerError):
    """An entity with the same unique name already exists."""


class InvalidState(TrackerError):
    """The entity exists but is in a state that forbids the operation."""


class EndpointNotFound(TrackerError):
    """No route serves the requested path and method."""


class NotImplementedByServer(TrackerError):
    """The route is known to MLflow but this server does not serve it."""


class Unavailable(TrackerError):
    """The server cannot answer now; the caller should retry."""


class ConcurrencyConflict(TrackerError):
    """A stream moved on between reading it and appending to it."""


class WritesFrozen(Unavailable):
    """The tenant's writes are held, for example while a restore runs."""


class ProjectionStopped(Unavailable):
    """A projector stopped on an error and reads cannot be made current."""


class Unauthenticated(TrackerError):
    """The request carries no credentials, or ones that cannot be verified.

    ``credentials_refused`` tells a refused credential (expired, badly signed,
    revoked) from a missing one; the HTTP layer says which in its challenge.
    """

    def __init__(self, message: str, *, credentials_refused: bool = True) -> None:
        super().__init__(message)
        self.credentials_refused = credentials_refused


class PermissionDenied(TrackerError):
    """The caller is known but their role does not allow the operation."""


class PayloadTooLarge(InvalidParameter):
    """The request body is larger than the server accepts."""
