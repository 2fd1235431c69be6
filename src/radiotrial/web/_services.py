"""The portal's ports implemented on :mod:`radiotrial.services` and the registry.

``submit_request`` calls :func:`radiotrial.services.register_prescreen` (one transaction:
pseudonymous subject in status ``potential-candidate``, identity sealed in the vault, milestone
and audit entries). Two things the services layer does not hold yet live here, each marked:

- the outbox: one JSON file per unsent e-mail, written atomically (temp file + rename);
- idempotency of a form submission: an in-process map from the form's one-time token to the
  receipt, so a double click or a reload does not register the person twice.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from radiotrial.protocol import Protocol
from radiotrial.registry import DuplicateSubjectError, IdentityRecord, Registry, Vault
from radiotrial.registry._errors import VaultError
from radiotrial.services import ServiceContext, register_prescreen
from radiotrial.web._memory import new_reference
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
    """:class:`~radiotrial.web._ports.Backend` over a :class:`ServiceContext`.

    Parameters
    ----------
    ctx : ServiceContext
        Registry, protocol and vault.
    outbox_dir : Path
        Folder for unsent e-mails (created on first use).
    remember : int
        Form tokens remembered for idempotency (least recently used forgotten first).
    """

    def __init__(self, ctx: ServiceContext, outbox_dir: Path, *, remember: int = 100_000) -> None:
        self.ctx = ctx
        self.outbox_dir = outbox_dir
        self._seen: OrderedDict[str, Receipt] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # SQLite has one writer; a waiting BEGIN IMMEDIATE polls in its busy handler with sleeps
        # of up to 100 ms, so 50 concurrent registrations queue unfairly (long latency tails).
        # Registrations of this process take turns on a lock instead, which hands the write
        # slot straight to the next waiter; other processes still meet the busy handler.
        self._sqlite_writer = threading.Lock() if ctx.registry.dialect == "sqlite" else None

    def _identity(self, request: PortalRequest) -> IdentityRecord:
        ident = request.identity
        preferred = request.answers.get("preferred_language", request.language)
        return IdentityRecord.parse(
            {
                "family_name": ident["full_name"],
                "email": ident.get("email") or None,
                "phone": ident.get("phone") or None,
                "preferred_language": preferred if preferred in ("zh", "en") else request.language,
            }
        )

    def submit_request(self, request: PortalRequest) -> Receipt:
        key = request.idempotency_key
        with self._lock:
            earlier = self._seen.get(key)
            if earlier is not None:
                return Receipt(earlier.reference, False, earlier.submitted_at, earlier.repeat_of)
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # two concurrent posts of one form: the second waits and reuses
            try:
                return self._submit_once(request, key)
            finally:
                with self._lock:
                    self._key_locks.pop(key, None)

    def _submit_once(self, request: PortalRequest, key: str) -> Receipt:
        with self._lock:
            earlier = self._seen.get(key)
        if earlier is not None:
            return Receipt(earlier.reference, False, earlier.submitted_at, earlier.repeat_of)
        consents = {
            "contact": request.consents.get("contact", False),
            "health_data": request.consents.get("storage", False),
            "cross_border_transfer": request.consents.get("cross_border", False),
        }
        source: Literal["portal", "referral"] = (
            "referral" if request.requester_type == "physician" else "portal"
        )
        identity = self._identity(request)
        try:
            if self._sqlite_writer is not None:
                with self._sqlite_writer:
                    receipt = register_prescreen(
                        self.ctx, identity, consents=consents, source=source
                    )
            else:
                receipt = register_prescreen(self.ctx, identity, consents=consents, source=source)
            result = Receipt(receipt.reference, True, request.submitted_at)
        except DuplicateSubjectError as exc:
            # never tell the public that a person is already registered: a fresh
            # reference for the reply, the match for the staff notice only
            log.info("portal request matches existing subject %s", exc.existing)
            result = Receipt(new_reference(request.kind), True, request.submitted_at, exc.existing)
        with self._lock:
            self._seen[key] = result
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return result

    def store_mail(self, mail: OutboundMail, *, reason: str) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{mail.kind}-{secrets.token_hex(4)}.json"
        record = {"queued_at": stamp, "reason": reason, **asdict(mail)}
        record["headers"] = dict(mail.headers)
        tmp = self.outbox_dir / f".{name}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.outbox_dir / name)
