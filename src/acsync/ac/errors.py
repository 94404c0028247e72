"""What can go wrong talking to ActiveCampaign, split by what the caller can do.

    AcError                      (acsync.errors.AcsyncError)
    ├── AcConfigError            wrong URL or key: fix the config (exit status 2)
    ├── AcRetriableError         try again later: 429, 5xx, timeouts, connection errors
    │   └── AcMaybeSent          … but the request may have reached AC, and AC may have acted:
    │                            an unsafe write (a POST) is checked in AC before it is sent again
    ├── AcNotFound               404: the object is gone (a deleted contact)
    ├── AcValidationError        422: this item is refused; ``messages`` holds AC's words
    └── AcFatalError             402, other 4xx, a 403 that persists, odd answers

Every error carries the method, the path and the status; never the API token.
"""

from __future__ import annotations

from acsync import masking
from acsync.errors import AcsyncError


class AcError(AcsyncError):
    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None) -> None:
        where = f" ({method} {path}{f' → {status}' if status is not None else ''})" if method else ""
        super().__init__(masking.mask(f"{message}{where}"))  # AC's words may echo the token
        self.method = method
        self.path = path
        self.status = status


class AcConfigError(AcError):
    exit_code = 2


class AcRetriableError(AcError):
    """``not_sent``: proof that the request never left (no connection was made), so even an
    unsafe call may be repeated. A 429 (or bulk import's 400 rate limit) is AC saying it did
    nothing: also safe to repeat."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        not_sent: bool = False,
        method: str = "",
        path: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.retry_after = retry_after
        self.not_sent = not_sent


class AcMaybeSent(AcRetriableError):
    """The request may have reached AC and AC may have acted on it: a read timeout, a connection
    dropped after the request was sent, a 5xx. Repeating an unsafe call blindly could write twice."""


class AcNotFound(AcError):
    pass


class AcValidationError(AcError):
    def __init__(
        self,
        message: str,
        *,
        messages: list[str],
        method: str = "",
        path: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.messages = messages


class AcFatalError(AcError):
    pass
