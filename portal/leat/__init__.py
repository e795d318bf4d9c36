"""Leat (formerly Piggy) REST API v3, as the portal uses it."""

from .client import UNSET, LeatClient
from .errors import (
    CONTACT_NOT_FOUND,
    INVALID_INPUT,
    SHOP_NOT_FOUND,
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
    "CONTACT_NOT_FOUND",
    "INVALID_INPUT",
    "SHOP_NOT_FOUND",
    "UNSET",
    "Contact",
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
