"""One Leat call per create: the contact of an e-mail address is kept a few minutes."""

from __future__ import annotations

from helpers import HTMX, all_records, csrf_token

from portal.leat_sandbox import Fault, seed
from portal.visits import contact_cache as contact_cache_module
from portal.visits.contact_cache import ContactCache

BRAM = "bram.jansen@example.com"
NOT_FOUND = Fault(
    status=400, body='{"message": "Contact not found.", "code": 55031, "status_code": 400}'
)


def create(client, contact=BRAM, **fields):
    data = {"csrf_token": csrf_token(client), "contact": contact, "shop": seed.SHOP_UTRECHT}
    return client.post("/visits", data={**data, **fields}, headers=HTMX)


def calls(sandbox) -> dict[str, int]:
    return {f"{m} {p}": n for (m, p), n in sandbox.faults.calls.items()}


def made(sandbox, before: dict[str, int]) -> dict[str, int]:
    now = calls(sandbox)
    return {k: n - before.get(k, 0) for k, n in now.items() if n != before.get(k, 0)}


def test_a_second_create_for_the_same_address_is_one_leat_call(client, sandbox):
    client.get("/visits")  # the shops, once, into their cache
    before = calls(sandbox)
    assert create(client).status_code == 200
    assert made(sandbox, before) == {"GET /contacts": 1, "POST /visits": 1}
    before = calls(sandbox)
    assert create(client, source="again").status_code == 200
    assert made(sandbox, before) == {"POST /visits": 1}


def test_an_address_typed_in_other_capitals_is_recorded_as_leat_spells_it(client, sandbox, app):
    """Leat matches addresses whatever their case; a create from the cache records the
    address as a look-up would have, Leat's spelling, and asks Leat once."""
    assert create(client).status_code == 200
    before = calls(sandbox)
    assert create(client, contact="Bram.Jansen@Example.COM", source="capitals").status_code == 200
    assert made(sandbox, before) == {"POST /visits": 1}
    first, second = all_records(app)
    assert first.contact_uuid == second.contact_uuid
    assert second.contact_email == BRAM


def test_a_page_load_asks_leat_nothing(client, sandbox):
    client.get("/visits")  # the shops, once, into their cache
    create(client)
    before = calls(sandbox)
    assert client.get("/visits").status_code == 200
    assert made(sandbox, before) == {}


def test_a_contact_leat_no_longer_knows_is_looked_up_again(client, sandbox, app):
    assert create(client).status_code == 200
    sandbox.faults.inject(NOT_FOUND, method="POST", path="/visits", times=1)
    refused = create(client, source="gone")
    assert refused.status_code == 422  # Leat's 55031, under the contact field
    with app.app_context():
        assert app.extensions["contact_cache"].get(BRAM) is None
    before = calls(sandbox)
    assert create(client, source="found again").status_code == 200
    assert made(sandbox, before) == {"GET /contacts": 1, "POST /visits": 1}


def test_entries_expire(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(contact_cache_module.time, "monotonic", lambda: now[0])
    cache = ContactCache(ttl=300)
    cache.put("a@example.com", "uuid-a")
    now[0] += 299
    assert cache.get("a@example.com") == "uuid-a"
    now[0] += 2
    assert cache.get("a@example.com") is None


def test_bounded_the_oldest_goes_first():
    cache = ContactCache(size=2)
    cache.put("a@example.com", "uuid-a")
    cache.put("b@example.com", "uuid-b")
    cache.put("c@example.com", "uuid-c")
    assert cache.get("a@example.com") is None
    assert cache.get("b@example.com") == "uuid-b"
    assert cache.get("c@example.com") == "uuid-c"


def test_forget_drops_every_address_of_the_contact():
    cache = ContactCache()
    cache.put("a@example.com", "uuid-a")
    cache.put("A@example.com", "uuid-a")
    cache.put("b@example.com", "uuid-b")
    cache.forget("uuid-a")
    assert cache.get("a@example.com") is None
    assert cache.get("A@example.com") is None
    assert cache.get("b@example.com") == "uuid-b"


def test_minutes_not_hours():
    assert 60 <= contact_cache_module.CONTACT_CACHE_SECONDS <= 900
