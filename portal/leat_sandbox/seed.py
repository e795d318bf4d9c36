"""The sandbox's fixed starting data: shops and contacts a demo and a test can name.

The uuids are written out (not generated) so that every sandbox database, in every
process and on every machine, agrees on them, and seeding twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class SeedShop:
    uuid: str
    name: str
    type: str  # "physical" or "web", as Leat names them
    reference: str


@dataclass(frozen=True)
class SeedContact:
    uuid: str
    email: str
    created_at: str


SHOP_AMSTERDAM: Final = "dc1a363c-e073-44cd-afb2-df64988729bd"
SHOP_UTRECHT: Final = "98624248-2e8c-4c87-8f99-86364f4f2519"
SHOP_ROTTERDAM: Final = "dac8255b-7418-4b13-9ac4-b9cb2d4e4009"
SHOP_WEBSHOP: Final = "42810ec7-5301-449f-8e97-6e8d58e75e8e"

SHOPS: Final = (
    SeedShop(SHOP_AMSTERDAM, "Amsterdam Centrum", "physical", "AMS-01"),
    SeedShop(SHOP_UTRECHT, "Utrecht Oudegracht", "physical", "UTR-01"),
    SeedShop(SHOP_ROTTERDAM, "Rotterdam Markthal", "physical", "RTM-01"),
    SeedShop(SHOP_WEBSHOP, "Webshop", "web", "WEB-01"),
)

CONTACT_ANNA: Final = "03a090a3-adb1-4e9b-a56d-2fbb81375793"
CONTACT_BRAM: Final = "f3d5d7f1-f73f-4a59-9adc-42ffb73af3d9"
CONTACT_CHLOE: Final = "487c6580-c013-4645-83ae-e767ba8fd93a"
CONTACT_DAAN: Final = "d9d5ae1f-e869-43b9-8801-cf63af93082a"
CONTACT_EMMA: Final = "1918448c-083b-4e68-9b0b-40ad522e632b"

CONTACTS: Final = (
    SeedContact(CONTACT_ANNA, "anna.devries@example.com", "2024-01-08T09:12:00+00:00"),
    SeedContact(CONTACT_BRAM, "bram.jansen@example.com", "2024-01-15T14:30:00+00:00"),
    SeedContact(CONTACT_CHLOE, "chloe.bakker@example.com", "2024-02-02T11:05:00+00:00"),
    SeedContact(CONTACT_DAAN, "daan.visser@example.com", "2024-02-20T16:45:00+00:00"),
    SeedContact(CONTACT_EMMA, "emma.smit@example.com", "2024-03-11T10:00:00+00:00"),
)
