"""A local Leat API sandbox: the endpoints the portal uses, behaving as Leat documents.

Used three ways: in-process in demo mode (``SandboxAdapter`` on a requests session),
over loopback HTTP by the tests (``serve_in_thread``), and standalone from the
command line (``python -m portal.leat_sandbox``).
"""

from .app import API_PREFIX, DEFAULT_TOKEN, AccountState, ErrorStyle, create_sandbox_app
from .faults import MAINTENANCE_PAGE, Fault, FaultInjector
from .seed import (
    CONTACT_ANNA,
    CONTACT_BRAM,
    CONTACT_CHLOE,
    CONTACT_DAAN,
    CONTACT_EMMA,
    CONTACTS,
    SHOP_AMSTERDAM,
    SHOP_ROTTERDAM,
    SHOP_UTRECHT,
    SHOP_WEBSHOP,
    SHOPS,
)
from .server import SandboxServer, serve_forever, serve_in_thread
from .transport import IN_PROCESS_BASE_URL, SandboxAdapter

__all__ = [
    "API_PREFIX",
    "CONTACTS",
    "CONTACT_ANNA",
    "CONTACT_BRAM",
    "CONTACT_CHLOE",
    "CONTACT_DAAN",
    "CONTACT_EMMA",
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "MAINTENANCE_PAGE",
    "SHOPS",
    "SHOP_AMSTERDAM",
    "SHOP_ROTTERDAM",
    "SHOP_UTRECHT",
    "SHOP_WEBSHOP",
    "AccountState",
    "ErrorStyle",
    "Fault",
    "FaultInjector",
    "SandboxAdapter",
    "SandboxServer",
    "create_sandbox_app",
    "serve_forever",
    "serve_in_thread",
]
