"""Leat's contacts by e-mail address, kept briefly per process (one Leat call a create)."""

from __future__ import annotations

import threading
import time

from flask import current_app

CONTACT_CACHE_SECONDS = 300
CONTACT_CACHE_SIZE = 10_000


class ContactCache:
    """E-mail address → Leat contact uuid, kept a few minutes per process.

    A create by e-mail would otherwise ask Leat for the contact before every visit,
    though a shop sees the same customers again and again: with the contact known,
    a create is one Leat call. Minutes, not hours, and dropped when Leat answers that
    the contact does not exist (55031), so a contact merged or deleted at Leat is
    looked up afresh. Bounded: past ``size`` entries the oldest goes. Leat matches
    addresses whatever their case, so the cache does too, and it keeps Leat's own
    spelling of the address beside the uuid: a record made from the cache holds what a
    look-up would have given it.
    """

    def __init__(self, ttl: float = CONTACT_CACHE_SECONDS, size: int = CONTACT_CACHE_SIZE) -> None:
        self._ttl = ttl
        self._size = size
        self._lock = threading.Lock()
        # casefolded address: (uuid, Leat's spelling of the address, stored at)
        self._entries: dict[str, tuple[str, str, float]] = {}

    def contact(self, email: str) -> tuple[str, str] | None:
        """(uuid, Leat's spelling of the address) for ``email``, if met lately."""
        key = email.casefold()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[2] > self._ttl:
                del self._entries[key]
                return None
            return entry[0], entry[1]

    def get(self, email: str) -> str | None:
        found = self.contact(email)
        return found[0] if found else None

    def put(self, email: str, contact_uuid: str, leat_email: str | None = None) -> None:
        key = email.casefold()
        with self._lock:
            self._entries.pop(key, None)  # re-inserted last: the newest
            self._entries[key] = (contact_uuid, leat_email or email, time.monotonic())
            while len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]  # dicts keep insertion order

    def forget(self, contact_uuid: str) -> None:
        """Drop every address that led to this contact."""
        with self._lock:
            for key in [k for k, entry in self._entries.items() if entry[0] == contact_uuid]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def contact_cache() -> ContactCache:
    return current_app.extensions["contact_cache"]
