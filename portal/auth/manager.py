"""The signed-in manager, kept in the session, and what they may touch."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, session

from ..i18n import SESSION_KEY as LOCALE_KEY
from . import sessions
from .launch import ALL_SHOPS, Launch

SESSION_KEY = "manager"


@dataclass(frozen=True)
class Manager:
    id: str
    name: str
    shops: tuple[str, ...]

    @property
    def all_shops(self) -> bool:
        return ALL_SHOPS in self.shops

    def may_use(self, shop_uuid: str | None) -> bool:
        return bool(shop_uuid) and (self.all_shops or shop_uuid in self.shops)

    def visible(self, shops):
        """The shops (Leat's ``Shop`` values) this manager may see, in their order."""
        return [shop for shop in shops if self.may_use(shop.uuid)]


def sign_in(launch: Launch) -> Manager:
    manager = Manager(id=launch.manager_id, name=launch.name, shops=launch.shops)
    # A new session (and a new cookie key) for a new sign-in: nothing carries over.
    sessions.start(session, manager.id)
    session[SESSION_KEY] = {"id": manager.id, "name": manager.name, "shops": list(manager.shops)}
    if launch.locale:
        # Kept with the session (server-side), asked by portal/i18n.py on every request.
        session[LOCALE_KEY] = launch.locale
    g.manager = manager
    return manager


def sign_out() -> None:
    sessions.revoke(session)
    g.manager = None


def current_manager() -> Manager | None:
    if "manager" not in g:
        stored = session.get(SESSION_KEY)
        g.manager = (
            Manager(id=stored["id"], name=stored["name"], shops=tuple(stored["shops"]))
            if isinstance(stored, dict)
            else None
        )
    return g.manager
