"""The portal's ports implemented on :mod:`radiotrial.services` and the registry.

``submit_request`` calls :func:`radiotrial.services.file_request` (one transaction: the request
record, its sealed contact, the subject it belongs to, keys, milestone and audit entries). The
form's one-time token is the request's idempotency key, held in the registry, so a double click
or a reload files nothing new, whichever process receives it. ``store_mails`` keeps unsent
e-mail in the registry's outbox (:func:`radiotrial.services.queue_mails`).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

from radiotrial.protocol import Protocol
from radiotrial.registry import Registry, Vault
from radiotrial.registry._errors import VaultError
from radiotrial.services import (
    QueuedMail,
    RequestSubmission,
    ServiceContext,
    file_request,
    queue_mails,
)
from radiotrial.web._ports import OutboundMail, PortalRequest, Receipt
from radiotrial.web._settings import WebSettings

__all__ = ["ServicesBackend", "service_context"]

log = logging.getLogger("radiotrial.web.services")


def service_context(settings: WebSettings, protocol: Protocol) -> ServiceContext:
    """Registry (lazy engine: nothing connects until the first request) and vault from settings."""
    vault = None
    if settings.vault_key is not None:
        text = settings.vault_key.get_secret_value()
        try:
            key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise VaultError(f"RADIOTRIAL_VAULT_KEY: not URL-safe base64 ({exc})") from None
        vault = Vault(key)
    return ServiceContext(registry=Registry(settings.db_url), protocol=protocol, vault=vault)


class ServicesBackend:
    """:class:`~radiotrial.web._ports.Backend` over a :class:`ServiceContext`."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # SQLite has one writer; a waiting BEGIN IMMEDIATE polls in its busy handler with sleeps
        # of up to 100 ms, so 50 concurrent registrations queue unfairly (long latency tails).
        # Writes of this process take turns on a lock instead, which hands the write slot
        # straight to the next waiter; other processes still meet the busy handler.
        self._sqlite_writer = threading.Lock() if ctx.registry.dialect == "sqlite" else None

    @staticmethod
    def submission(request: PortalRequest) -> RequestSubmission:
        """The services-layer form of a portal request."""
        ident = request.identity
        patient = None
        if ident.get("patient_name"):
            patient = {
                "full_name": ident["patient_name"],
                "email": ident.get("patient_email") or None,
                "phone": ident.get("patient_phone") or None,
            }
        a = request.answers
        logistics = ("country", "travel", "interpreter", "preferred_language",
                     "contact_channel", "contact_time", "time_zone", "requester_type")  # fmt: skip
        return RequestSubmission(
            kind=request.kind,
            requester_type=request.requester_type,
            language=request.language,
            contact={
                "requester": {
                    "full_name": ident.get("full_name", ""),
                    "email": ident.get("email") or None,
                    "phone": ident.get("phone") or None,
                },
                "patient": patient,
            },
            answers={k: v for k, v in a.items() if k not in logistics},
            country=a.get("country", ""),
            travel=a.get("travel", ""),
            interpreter=a.get("interpreter", ""),
            preferred_language=a.get("preferred_language", ""),
            contact_channel=a.get("contact_channel", ""),
            contact_time=a.get("contact_time", ""),
            time_zone=a.get("time_zone", ""),
            consents={
                "contact": request.consents.get("contact", False),
                "health_data": request.consents.get("storage", False),
                "cross_border_transfer": request.consents.get("cross_border"),
                "other_trials": request.consents.get("other_trials", False),
            },
            received_at=request.submitted_at,
            form_key=request.idempotency_key,
        )

    def _turn(self) -> AbstractContextManager[object]:
        return self._sqlite_writer if self._sqlite_writer is not None else nullcontext()

    def submit_request(self, request: PortalRequest) -> Receipt:
        submission = self.submission(request)
        with self._turn():
            receipt = file_request(self.ctx, submission)
        if receipt.match != "new":
            # the public is never told; staff see the match in the queue
            log.info("request %s: %s match", receipt.reference, receipt.match)
        return Receipt(receipt.reference, receipt.created, receipt.received_at)

    def store_mails(self, mails: Sequence[tuple[OutboundMail, str]]) -> None:
        queued = [
            (QueuedMail(m.kind, tuple(m.to), m.subject, m.body, m.language, m.reference,
                        dict(m.headers)), reason)
            for m, reason in mails
        ]  # fmt: skip
        with self._turn():
            queue_mails(self.ctx, queued)
