"""Leat (formerly Piggy) REST API v3, as the portal uses it."""

from .client import EDITABLE_VISIT_FIELDS, UNSET, LeatClient
from .errors import (
    ErrorKind,
    LeatAuthError,
    LeatError,
    LeatMaintenance,
    LeatMalformedResponse,
    LeatNotFound,
    LeatRateLimited,
    LeatRequestError,
    LeatUnavailable,
    LeatValidationError,
)
from .models import Contact, Shop, Visit, VisitPage

__all__ = [
    "EDITABLE_VISIT_FIELDS",
    "UNSET",
    "Contact",
    "ErrorKind",
    "LeatAuthError",
    "LeatClient",
    "LeatError",
    "LeatMaintenance",
    "LeatMalformedResponse",
    "LeatNotFound",
    "LeatRateLimited",
    "LeatRequestError",
    "LeatUnavailable",
    "LeatValidationError",
    "Shop",
    "Visit",
    "VisitPage",
]
