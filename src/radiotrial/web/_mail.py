"""E-mail notices of portal requests: composition in the reader's language, and delivery.

Delivery is SMTP (stdlib :mod:`smtplib`) when ``RADIOTRIAL_SMTP_URL`` is set, otherwise the
outbox (the registry's ``outbox`` table, recipients sealed) and the log. A failed SMTP delivery
also lands in the outbox with the reason, so nothing is lost; admins have the outbox delivered
from the staff application once SMTP works. Notices to investigators carry no identity and no
answers: e-mail is not an encrypted channel, so they give the reference, the kind of request,
its language and a link into the staff app.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_datetime as babel_datetime

from radiotrial.errors import InputFileError
from radiotrial.web._facts import ContactFact, PublicFacts
from radiotrial.web._forms import LANGUAGE_CHOICES
from radiotrial.web._i18n import Lang, translator
from radiotrial.web._ports import OutboundMail, Outbox, PortalRequest, Receipt
from radiotrial.web._settings import SmtpTarget

__all__ = [
    "Delivery",
    "Mailer",
    "first_response_days",
    "investigator_notice",
    "requester_confirmation",
    "responsible_contacts",
]

log = logging.getLogger("radiotrial.web.mail")


@cache
def first_response_days() -> int:
    """Working days within which the team answers a request (``web/data/portal.yaml``)."""
    ref = resources.files("radiotrial.web") / "data" / "portal.yaml"
    try:
        data = yaml.safe_load(ref.read_text(encoding="utf-8"))
        value = data["first_response"]["value"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise InputFileError(str(ref), f"first_response.value is missing: {exc}") from exc
    if not isinstance(value, int) or value < 1:
        raise InputFileError(str(ref), f"first_response.value={value!r}: need an integer >= 1")
    return value


def responsible_contacts(facts: PublicFacts, request: PortalRequest) -> tuple[ContactFact, ...]:
    """Investigators who handle ``request`` (protocol ``contacts`` by ``handles``).

    A referring physician's request goes to ``physician_referral`` handlers when the protocol
    names any, else to the handlers of the request's kind.
    """
    if request.requester_type == "physician":
        referral = facts.contacts_for("physician_referral")
        if referral:
            return referral
    return facts.contacts_for(request.kind)


def _when(moment: datetime, lang: Lang, tz: str) -> str:
    tr = translator(lang)
    zone = ZoneInfo(tz)
    local = babel_datetime(moment, "medium", tzinfo=zone, locale=tr.locale)
    return f"{local} ({zone.key})"


def _choice_label(lang: Lang, options: tuple[tuple[str, str], ...], value: str) -> str:
    tr = translator(lang)
    for key, label in options:
        if key == value:
            return tr.gettext(label)
    return value


def investigator_notice(
    facts: PublicFacts,
    request: PortalRequest,
    receipt: Receipt,
    contact: ContactFact,
    staff_url: str,
) -> OutboundMail:
    """The notice to one investigator, in the investigator's first language.

    Reference, kind, portal language, time received (site time) and the staff link: nothing
    that identifies the person, and none of the answers.
    """
    lang: Lang = "zh" if contact.languages and contact.languages[0] == "zh" else "en"
    tr = translator(lang)
    _ = tr.gettext
    kind = (
        _("pre-screening request") if request.kind == "prescreening" else _("consultation request")
    )
    lines = [
        _("A new %(kind)s arrived on the trial portal.") % {"kind": kind},
        "",
        _("Reference: %(ref)s") % {"ref": receipt.reference},
        _("Received: %(when)s") % {"when": _when(receipt.submitted_at, lang, facts.time_zone)},
        _("Portal language: %(lang)s")
        % {"lang": _choice_label(lang, LANGUAGE_CHOICES, request.language)},
        "",
        _(
            "The answers, the name and the contact details are in the staff application only; "
            "this e-mail deliberately carries none of them."
        ),
        _("Open the request: %(url)s") % {"url": staff_url},
    ]
    subject = _("[%(product)s trial] New %(kind)s %(ref)s") % {
        "product": facts.product,
        "kind": kind,
        "ref": receipt.reference,
    }
    return OutboundMail(
        kind="investigator_notice",
        to=(contact.email,),
        subject=subject,
        body="\n".join(lines) + "\n",
        language=lang,
        reference=receipt.reference,
    )


def requester_confirmation(
    facts: PublicFacts, request: PortalRequest, receipt: Receipt, reply_to: str | None
) -> OutboundMail | None:
    """The confirmation to the person, in the portal language they used; None without e-mail."""
    email = request.identity.get("email")
    if not email:
        return None
    lang = request.language
    tr = translator(lang)
    _ = tr.gettext
    body = "\n".join(
        [
            _("Thank you. We have received your request."),
            "",
            _("Your reference number: %(ref)s") % {"ref": receipt.reference},
            "",
            _("What happens next"),
            _(
                "A member of the trial team at %(site)s will read your request and contact you "
                "within %(days)s working days, through the channel and at the time you chose."
            )
            % {"site": tr.gettext(facts.site_name_text), "days": first_response_days()},
            _(
                "This request is not a medical decision. Whether taking part is possible can "
                "only be decided after tests and evaluations at the trial site."
            ),
            "",
            _("Your data"),
            _(
                "Your contact details are kept encrypted, apart from your answers. If your "
                "request is not taken forward, both are deleted %(days)s days after your last "
                "request."
            )
            % {"days": f"{facts.retention_days:g}"},
            _(
                "You can withdraw your consent or ask to see or delete your data at any time by "
                "writing to %(email)s and quoting your reference number."
            )
            % {"email": reply_to or ""},
        ]
    )
    return OutboundMail(
        kind="requester_confirmation",
        to=(email,),
        subject=_("Your request to the %(product)s trial: %(ref)s")
        % {"product": facts.product, "ref": receipt.reference},
        body=body + "\n",
        language=lang,
        reference=receipt.reference,
        headers={"Reply-To": reply_to} if reply_to else {},
    )


@dataclass(frozen=True)
class Delivery:
    """How a message left: by SMTP, or kept in the outbox with the reason."""

    channel: Literal["smtp", "outbox"]
    reason: str | None = None


class Mailer:
    """Send :class:`OutboundMail` by SMTP, falling back to the outbox and the log."""

    def __init__(
        self, smtp: SmtpTarget | None, sender: str, outbox: Outbox, timeout_s: float = 10.0
    ) -> None:
        self.smtp = smtp
        self.sender = sender
        self.outbox = outbox
        self.timeout_s = timeout_s

    def _message(self, mail: OutboundMail) -> EmailMessage:
        msg = EmailMessage()
        msg.set_content(mail.body, charset="utf-8")  # first: it resets Content-* headers
        msg["From"] = self.sender
        msg["To"] = ", ".join(mail.to)
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(datetime.now().astimezone())
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg["Content-Language"] = "zh-Hans" if mail.language == "zh" else "en"
        if mail.reference:
            msg["X-Radiotrial-Reference"] = mail.reference
        for key, value in mail.headers.items():
            msg[key] = value
        return msg

    def _smtp_send(self, target: SmtpTarget, msg: EmailMessage) -> None:
        if target.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host,
                target.port,
                timeout=self.timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=self.timeout_s)
        with client:
            if target.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if target.username:
                client.login(target.username, target.password or "")
            client.send_message(msg)

    def deliver(self, mail: OutboundMail) -> None:
        """Send ``mail`` by SMTP now; raises :class:`OSError` or ``SMTPException`` on failure
        (no SMTP configured: :class:`ConnectionError`)."""
        if self.smtp is None:
            raise ConnectionError("no SMTP server configured (RADIOTRIAL_SMTP_URL)")
        self._smtp_send(self.smtp, self._message(mail))

    def send_all(self, mails: list[OutboundMail]) -> list[Delivery]:
        """Deliver ``mails``; never raises. Failures go to the outbox together (one write)."""
        deliveries: list[Delivery] = []
        kept: list[tuple[OutboundMail, str]] = []
        for mail in mails:
            if self.smtp is None:
                reason = "no SMTP server configured (RADIOTRIAL_SMTP_URL)"
            else:
                try:
                    self._smtp_send(self.smtp, self._message(mail))
                except (OSError, smtplib.SMTPException) as exc:
                    reason = f"SMTP delivery to {self.smtp!r} failed: {type(exc).__name__}: {exc}"
                    log.error("%s (%s %s)", reason, mail.kind, mail.reference)
                else:
                    log.info("sent %s for %s by SMTP", mail.kind, mail.reference)
                    deliveries.append(Delivery("smtp"))
                    continue
            kept.append((mail, reason))
            deliveries.append(Delivery("outbox", reason))
            log.info(
                "outbox: %s for %s to %d recipient(s): %s",
                mail.kind,
                mail.reference,
                len(mail.to),
                mail.subject,
            )
        if kept:
            self.outbox.store_mails(kept)
        return deliveries

    def send(self, mail: OutboundMail) -> Delivery:
        """Deliver one message (see :meth:`send_all`)."""
        return self.send_all([mail])[0]
