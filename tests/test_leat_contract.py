"""The Leat client against the sandbox over loopback HTTP: the two cannot drift.

Every call the portal makes goes through the real client to the real sandbox server,
and each documented answer must come back as the typed value or typed error the
rest of the portal relies on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.leat import (
    ErrorKind,
    LeatAuthError,
    LeatClient,
    LeatError,
    LeatNotFound,
    LeatValidationError,
)
from portal.leat_sandbox import AccountState, ErrorStyle, create_sandbox_app, seed
from portal.leat_sandbox.app import ACCOUNT_CONFIG, CONTACT_LIMIT_CONFIG

AMSTERDAM_SUMMER = timezone(timedelta(hours=2))

# Every reading of Leat the portal must be right under: errors as Leat's error page
# documents them (400 with a code) or with their own statuses (404, 422), and times
# converted to UTC or stored by their wall clock with the offset dropped (as a stock
# Laravel backend would).
READINGS = {
    "documented-errors": (ErrorStyle.DOCUMENTED, False),
    "legacy-errors": (ErrorStyle.LEGACY, False),
    "documented-errors-offsets-dropped": (ErrorStyle.DOCUMENTED, True),
    "legacy-errors-offsets-dropped": (ErrorStyle.LEGACY, True),
}


@pytest.fixture(params=sorted(READINGS))
def sandbox_app(request, sandbox_db):
    error_style, drop_offsets = READINGS[request.param]
    return create_sandbox_app(str(sandbox_db), error_style=error_style, drop_offsets=drop_offsets)


@pytest.fixture
def leat(sandbox_leat):
    return sandbox_leat


def new_visit(leat, **fields):
    fields.setdefault("contact_uuid", seed.CONTACT_ANNA)
    fields.setdefault("shop_uuid", seed.SHOP_AMSTERDAM)
    return leat.create_visit(**fields)


# -- shops and contacts ------------------------------------------------------------------


def test_list_shops_gives_the_seeded_physical_and_web_shops(leat):
    shops = {shop.uuid: shop for shop in leat.list_shops()}
    assert shops[seed.SHOP_AMSTERDAM].name == "Amsterdam Centrum"
    assert {shop.type for shop in shops.values()} == {"physical", "web"}


def test_show_shop_and_an_unknown_shop(leat):
    assert leat.get_shop(seed.SHOP_WEBSHOP).type == "web"
    with pytest.raises(LeatNotFound) as caught:
        leat.get_shop(str(uuid.uuid4()))
    assert caught.value.kind is ErrorKind.SHOP_NOT_FOUND


def test_find_contact_by_email(leat):
    contact = leat.find_contact_by_email("anna.devries@example.com")
    assert contact.uuid == seed.CONTACT_ANNA
    assert leat.get_contact(seed.CONTACT_ANNA).email == "anna.devries@example.com"


def test_finding_an_unknown_contact_is_not_found(leat):
    with pytest.raises(LeatNotFound) as caught:
        leat.find_contact_by_email("nobody@example.com")
    assert caught.value.kind is ErrorKind.CONTACT_NOT_FOUND
    with pytest.raises(LeatNotFound):
        leat.get_contact(str(uuid.uuid4()))


def test_find_or_create_makes_a_contact_once(leat):
    first = leat.find_or_create_contact("new.customer@example.com")
    again = leat.find_or_create_contact("new.customer@example.com")
    assert first.email == "new.customer@example.com"
    assert again.uuid == first.uuid
    assert leat.find_contact_by_email("new.customer@example.com").uuid == first.uuid


def test_find_or_create_refuses_a_bad_email(leat):
    with pytest.raises(LeatValidationError) as caught:
        leat.find_or_create_contact("not-an-email")
    assert "email" in caught.value.field_errors


# -- creating visits ---------------------------------------------------------------------


def test_create_a_visit_with_every_field(leat):
    starts = datetime(2024, 5, 1, 22, 0, tzinfo=AMSTERDAM_SUMMER)
    visit = new_visit(
        leat,
        external_id="till-0001",
        source="Portal",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2, minutes=30),
    )
    assert uuid.UUID(visit.uuid)
    assert visit.contact.uuid == seed.CONTACT_ANNA
    assert visit.contact.email == "anna.devries@example.com"
    assert (visit.external_id, visit.source) == ("till-0001", "Portal")
    assert visit.starts_at == starts  # the same instant, whatever offset Leat answers in
    assert visit.starts_at.tzinfo is not None
    assert visit.ends_at - visit.starts_at == timedelta(hours=2, minutes=30)
    assert visit.created_at.tzinfo is not None
    assert leat.get_visit(visit.uuid) == visit


def test_create_with_only_contact_and_shop(leat):
    before = datetime.now(UTC).replace(microsecond=0)
    visit = new_visit(leat)
    assert (visit.external_id, visit.source, visit.ends_at) == (None, None, None)
    assert visit.starts_at >= before


def test_create_with_invalid_uuids_names_each_field(leat):
    with pytest.raises(LeatValidationError) as caught:
        leat.create_visit(contact_uuid="anna", shop_uuid="shop-1")
    assert {"contact_uuid", "shop_uuid"} <= set(caught.value.field_errors)
    assert caught.value.code == 1003
    assert caught.value.leat_message


def test_create_for_an_unknown_contact(leat):
    with pytest.raises(LeatNotFound) as caught:
        new_visit(leat, contact_uuid=str(uuid.uuid4()))
    assert caught.value.kind is ErrorKind.CONTACT_NOT_FOUND


def test_create_for_an_unknown_shop(leat):
    with pytest.raises(LeatNotFound) as caught:
        new_visit(leat, shop_uuid=str(uuid.uuid4()))
    assert caught.value.kind is ErrorKind.SHOP_NOT_FOUND


def test_create_ending_before_it_starts(leat):
    starts = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    with pytest.raises(LeatValidationError) as caught:
        new_visit(leat, starts_at=starts, ends_at=starts - timedelta(minutes=1))
    assert list(caught.value.field_errors) == ["ends_at"]


def test_an_external_id_is_unique(leat):
    new_visit(leat, external_id="till-0002")
    with pytest.raises(LeatValidationError) as caught:
        new_visit(leat, external_id="till-0002", contact_uuid=seed.CONTACT_BRAM)
    assert list(caught.value.field_errors) == ["external_id"]


# -- updating visits ---------------------------------------------------------------------


def test_update_changes_only_the_fields_sent(leat):
    starts = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    visit = new_visit(leat, external_id="till-0003", source="Till", starts_at=starts)
    changed = leat.update_visit(visit.uuid, source="Portal")
    assert changed.source == "Portal"
    assert (changed.external_id, changed.starts_at) == ("till-0003", starts)
    assert changed.contact == visit.contact
    assert leat.get_visit(visit.uuid).source == "Portal"


def test_update_checks_the_end_against_the_stored_start(leat):
    starts = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
    visit = new_visit(leat, starts_at=starts)
    with pytest.raises(LeatValidationError) as caught:
        leat.update_visit(visit.uuid, ends_at=starts - timedelta(hours=1))
    assert "ends_at" in caught.value.field_errors


def test_update_cannot_clear_a_field(leat):
    # The sandbox's reading of an unconfirmed point: Leat may refuse a cleared
    # value, so the portal must not promise that clearing works.
    visit = new_visit(leat, source="Till")
    with pytest.raises(LeatValidationError) as caught:
        leat.update_visit(visit.uuid, source=None)
    assert "source" in caught.value.field_errors
    assert leat.get_visit(visit.uuid).source == "Till"


def test_update_an_unknown_visit(leat):
    with pytest.raises(LeatNotFound) as caught:
        leat.update_visit(str(uuid.uuid4()), source="x")
    assert caught.value.kind is ErrorKind.VISIT_GONE
    with pytest.raises(LeatNotFound) as caught:
        leat.get_visit(str(uuid.uuid4()))
    assert caught.value.kind is ErrorKind.VISIT_GONE


def test_times_keep_their_instant_whatever_leat_does_with_offsets(leat):
    starts = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    visit = new_visit(leat, starts_at=starts, ends_at=starts + timedelta(hours=1))
    assert visit.starts_at == starts
    assert leat.update_visit(visit.uuid, starts_at=starts - timedelta(hours=2)).starts_at == (
        starts - timedelta(hours=2)
    )
    assert leat.get_visit(visit.uuid).ends_at == starts + timedelta(hours=1)


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        (AccountState.INACTIVE, ErrorKind.ACCOUNT_INACTIVE),
        (AccountState.NO_ACCESS, ErrorKind.NO_ACCESS),
    ],
)
def test_an_account_leat_refuses_is_a_configuration_problem(leat, sandbox_app, state, kind):
    sandbox_app.config[ACCOUNT_CONFIG] = state
    with pytest.raises(LeatAuthError) as caught:
        leat.list_shops()
    assert caught.value.kind is kind
    assert caught.value.transient  # it waits for an administrator, then goes on


def test_a_full_contact_limit_is_its_own_kind(leat, sandbox_app):
    sandbox_app.config[CONTACT_LIMIT_CONFIG] = len(seed.CONTACTS)
    with pytest.raises(LeatError) as caught:
        leat.find_or_create_contact("one.too.many@example.com")
    assert caught.value.kind is ErrorKind.CONTACT_LIMIT
    assert not caught.value.transient


def test_update_to_another_visits_external_id(leat):
    new_visit(leat, external_id="till-0004")
    visit = new_visit(leat, external_id="till-0005")
    assert leat.update_visit(visit.uuid, external_id="till-0005").external_id == "till-0005"
    with pytest.raises(LeatValidationError) as caught:
        leat.update_visit(visit.uuid, external_id="till-0004")
    assert "external_id" in caught.value.field_errors


# -- listing visits ----------------------------------------------------------------------


def test_list_visits_pages_newest_first_and_filters_by_contact(leat):
    mine = [new_visit(leat, contact_uuid=seed.CONTACT_CHLOE, source=f"n{i}") for i in range(3)]
    new_visit(leat, contact_uuid=seed.CONTACT_DAAN)

    first = leat.list_visits(contact_uuid=seed.CONTACT_CHLOE, limit=2, page=1)
    second = leat.list_visits(contact_uuid=seed.CONTACT_CHLOE, limit=2, page=2)
    assert (first.total, first.last_page, first.per_page, first.has_next) == (3, 2, 2, True)
    assert second.has_next is False
    listed = [v.uuid for v in first.visits + second.visits]
    assert listed == [v.uuid for v in reversed(mine)]

    everything = leat.list_visits(limit=500)
    assert everything.total == 4


def test_list_visits_refuses_a_limit_over_500(leat):
    with pytest.raises(LeatValidationError):
        leat.list_visits(limit=501)


# -- the connection --------------------------------------------------------------------


def test_a_wrong_token_is_an_auth_error(sandbox):
    client = LeatClient(sandbox.base_url, "not-the-token")
    try:
        with pytest.raises(LeatAuthError) as caught:
            client.list_shops()
    finally:
        client.close()
    assert caught.value.status == 401


def test_calls_reuse_one_connection(leat, sandbox):
    leat.list_shops()
    visit = new_visit(leat)
    leat.update_visit(visit.uuid, source="again")
    leat.get_visit(visit.uuid)
    with pytest.raises(LeatNotFound):
        leat.get_shop(str(uuid.uuid4()))
    assert sandbox.connections_accepted == 1
