"""The ActiveCampaign API v3 client: one session, one classifier, bounded retries, one rate limit."""

from acsync.ac.client import AcClient
from acsync.ac.errors import (
    AcConfigError,
    AcError,
    AcFatalError,
    AcMaybeSent,
    AcNotFound,
    AcRetriableError,
    AcValidationError,
)

__all__ = [
    "AcClient",
    "AcConfigError",
    "AcError",
    "AcFatalError",
    "AcMaybeSent",
    "AcNotFound",
    "AcRetriableError",
    "AcValidationError",
]
