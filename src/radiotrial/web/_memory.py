"""An in-memory :class:`~radiotrial.web._ports.Backend` for tests and previews.

Nothing survives the process; production serves the services layer over the registry. The
class is thread-safe because uvicorn runs synchronous handlers in a thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from radiotrial.services import new_reference
from radiotrial.web._ports import OutboundMail, PortalRequest, Receipt

__all__ = ["MemoryBackend"]


@dataclass
class MemoryBackend:
    """Requests and outbox kept in lists, with idempotent submission."""

    requests: dict[str, PortalRequest] = field(default_factory=dict)
    outbox: list[tuple[OutboundMail, str]] = field(default_factory=list)
    _by_key: dict[str, Receipt] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit_request(self, request: PortalRequest) -> Receipt:
        with self._lock:
            earlier = self._by_key.get(request.idempotency_key)
            if earlier is not None:
                return Receipt(earlier.reference, False, earlier.submitted_at)
            reference = new_reference(request.kind)
            while reference in self.requests:
                reference = new_reference(request.kind)
            self.requests[reference] = request
            receipt = Receipt(reference, True, request.submitted_at)
            self._by_key[request.idempotency_key] = receipt
            return receipt

    def store_mails(self, mails: Sequence[tuple[OutboundMail, str]]) -> None:
        with self._lock:
            self.outbox.extend(mails)
