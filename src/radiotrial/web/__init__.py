"""The radiotrial web platform: bilingual public portal and staff application (FastAPI).

Nothing happens at import time; :func:`create_app` builds the app from :class:`WebSettings`
(``RADIOTRIAL_*`` environment variables) and the services layer.

Examples
--------
>>> from radiotrial.web import MemoryBackend, create_app, load_settings
>>> app = create_app(load_settings(secret_key="x" * 32), backend=MemoryBackend())
>>> sorted({r.path for r in app.routes} & {"/", "/{lang}/"})
['/', '/{lang}/']
"""

from radiotrial.web._app import create_app, load_settings
from radiotrial.web._i18n import LANGUAGES, negotiate
from radiotrial.web._memory import MemoryBackend
from radiotrial.web._ports import Backend, OutboundMail, PortalRequest, Receipt
from radiotrial.web._services import ServicesBackend, service_context
from radiotrial.web._settings import WebSettings, get_settings

__all__ = [
    "LANGUAGES",
    "Backend",
    "MemoryBackend",
    "OutboundMail",
    "PortalRequest",
    "Receipt",
    "ServicesBackend",
    "WebSettings",
    "create_app",
    "get_settings",
    "load_settings",
    "negotiate",
    "service_context",
]
