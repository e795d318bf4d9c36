"""Single use of launch tokens: each ``jti`` is remembered in the database for as long
as ``verify`` could still accept its token (``exp`` plus the clock leeway)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ..database import db
from ..i18n import _l
from ..models import UsedLaunchToken
from .launch import USED, Launch, LaunchRefused


def spend(launch: Launch) -> None:
    """Mark the token used; refuse it if it was used before (by any instance)."""
    now = datetime.now(UTC)
    # Only ids whose tokens verify() refuses by now can be forgotten: it accepts a token
    # until exp plus the leeway, so an id forgotten at exp would let its link work again.
    db.session.execute(delete(UsedLaunchToken).where(UsedLaunchToken.expires_at < now))
    db.session.add(
        UsedLaunchToken(
            jti=launch.jti, expires_at=datetime.fromtimestamp(launch.accepted_until, UTC)
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise LaunchRefused(USED, _l("This sign-in link has already been used.")) from None
