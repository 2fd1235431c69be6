"""Identity vault: identifying data encrypted at rest, keyed hashes for duplicate detection.

Names, contacts, identity documents, nationality and preferred language are serialised as
canonical JSON and sealed with AES-256-GCM (NIST SP 800-38D; 96-bit random nonce) under a key
derived from the master key with HKDF-SHA256 (RFC 5869). What a ciphertext belongs to (the
subject code, a request's reference, an e-mail's id) and the key id are bound as additional
authenticated data, so a ciphertext moved to another record fails to open. The same sealing
holds who sent a portal request (:class:`RequestContactRecord`) and the recipients of unsent
e-mail.

Duplicate detection uses HMAC-SHA256 (RFC 2104) under a second HKDF-derived key
(:meth:`Vault.person_keys`): combinations that identify a person (normalised name + birth date,
+ e-mail or + telephone; the identity document) are *strong* keys; the normalised name alone is
only a *possible* match, because different people share names (two patients called 王芳).

The master key (32 random bytes, URL-safe base64) comes from ``$RADIOTRIAL_VAULT_KEY`` or from
the file named by ``$RADIOTRIAL_VAULT_KEY_FILE`` (readable by its owner only); it is never
written to the database or the repository.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import unicodedata
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field

from radiotrial.errors import ValidationError
from radiotrial.registry._errors import VaultError
from radiotrial.registry._types import canonical_json

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "ContactPerson",
    "IdentityRecord",
    "PersonKeys",
    "RequestContactRecord",
    "Vault",
    "generate_key",
]

KEY_ENV = "RADIOTRIAL_VAULT_KEY"
KEY_FILE_ENV = "RADIOTRIAL_VAULT_KEY_FILE"

Short = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ()\-]{6,24}$")]


def _first_error(
    exc: pydantic.ValidationError, prefix: str, shown_fields: tuple[str, ...]
) -> ValidationError:
    """The first pydantic error as a :class:`ValidationError`; values shown only for codes."""
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"]) or prefix
    value = err.get("input") if err["type"] != "missing" else ...
    shown = value if field in shown_fields else "***"
    if isinstance(value, dict):
        shown = ...
    return ValidationError(f"{prefix}.{field}", shown, err["msg"].removeprefix("Value error, "))


class IdentityRecord(BaseModel):
    """Identifying data of one person (only ever stored encrypted).

    ``preferred_language`` is a BCP 47 tag (``zh``, ``en``, ``zh-Hant``, ``fr``, …);
    ``nationality`` and ``document_country`` are ISO 3166-1 alpha-2 or alpha-3 codes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    family_name: Short
    given_name: Short | None = None
    name_native: Short | None = None
    date_of_birth: date | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    document_type: Literal["passport", "national_id", "residence_permit", "other"] | None = None
    document_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{4,32}$")] | None = None
    document_country: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None
    nationality: Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")] | None = None
    preferred_language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "zh"

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> IdentityRecord:
        if self.email is None and self.phone is None:
            raise ValueError("give at least one contact: email or phone")
        if (self.document_number is None) != (self.document_type is None):
            raise ValueError("document_type and document_number go together")
        if self.date_of_birth is not None and self.date_of_birth > date.today():
            raise ValueError(f"date_of_birth {self.date_of_birth} is in the future")
        return self

    @classmethod
    def parse(cls, data: dict[str, object]) -> IdentityRecord:
        """Validate ``data``; raises :class:`ValidationError` naming the first bad field."""
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise _first_error(exc, "identity", ("preferred_language", "document_type")) from None


class ContactPerson(BaseModel):
    """A person as a portal request names them: one full name and the contacts given."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    full_name: Short
    email: Email | None = None
    phone: Phone | None = None


class RequestContactRecord(BaseModel):
    """Who sent a request (with at least one contact) and, where given, the patient."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requester: ContactPerson
    patient: ContactPerson | None = None

    @pydantic.model_validator(mode="after")
    def _reachable(self) -> RequestContactRecord:
        if self.requester.email is None and self.requester.phone is None:
            raise ValueError("give at least one contact of the requester: email or phone")
        return self

    @classmethod
    def parse(cls, data: dict[str, object]) -> RequestContactRecord:
        """Validate ``data``; raises :class:`ValidationError` naming the first bad field."""
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise _first_error(exc, "contact", ()) from None


def _normalise(text: str | None) -> str:
    """NFKC, case-folded, without spaces, hyphens, dots or apostrophes."""
    if not text:
        return ""
    return re.sub(r"[\s\-'.’·]", "", unicodedata.normalize("NFKC", text).casefold())


def _phone_digits(phone: str) -> str:
    """The digits of a telephone number, international prefix ``00`` read as ``+``."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("00") else digits


class PersonKeys(BaseModel):
    """Keyed hashes of one person's data: ``strong`` maps each hash to what it combines."""

    model_config = ConfigDict(frozen=True)

    name: str
    strong: dict[str, str]

    @property
    def all(self) -> tuple[str, ...]:
        return (self.name, *self.strong)


def generate_key() -> str:
    """A new random master key (32 bytes, URL-safe base64) for ``$RADIOTRIAL_VAULT_KEY``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _decode_key(text: str, origin: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise VaultError(f"{origin}: not URL-safe base64 ({exc})") from None
    if len(key) != 32:
        raise VaultError(f"{origin}: key must be 32 bytes, got {len(key)} (use generate_key())")
    return key


class Vault:
    """Encrypts and hashes identity records with keys derived from one master key.

    Parameters
    ----------
    master_key : bytes
        32 random bytes.
    """

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise VaultError(f"master key must be 32 bytes, got {len(master_key)}")
        self._enc = self._derive(master_key, b"radiotrial vault aes-256-gcm v1")
        self._mac = self._derive(master_key, b"radiotrial vault hmac-sha256 v1")
        self.key_id = hashlib.sha256(b"radiotrial key id" + master_key).hexdigest()[:16]

    @staticmethod
    def _derive(master_key: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)

    @classmethod
    def from_environment(cls) -> Vault:
        """The vault keyed by ``$RADIOTRIAL_VAULT_KEY`` or ``$RADIOTRIAL_VAULT_KEY_FILE``."""
        text = os.environ.get(KEY_ENV)
        if text:
            return cls(_decode_key(text, KEY_ENV))
        path = os.environ.get(KEY_FILE_ENV)
        if path:
            return cls.from_file(Path(path))
        raise VaultError(
            f"no vault key: set {KEY_ENV} or {KEY_FILE_ENV} "
            "(create one with `python -c 'from radiotrial.registry import generate_key; "
            "print(generate_key())'`)"
        )

    @classmethod
    def from_file(cls, path: Path) -> Vault:
        """Read the key from ``path``, which only its owner may read."""
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise VaultError(f"{path}: vault key file not found") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VaultError(f"{path}: vault key file is readable by others; chmod 600 it")
        return cls(_decode_key(path.read_text("ascii"), str(path)))

    def _seal(self, data: object, aad: str) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        plain = canonical_json(data).encode("utf-8")
        return nonce, AESGCM(self._enc).encrypt(nonce, plain, aad.encode())

    def _open(self, nonce: bytes, ciphertext: bytes, aad: str, key_id: str, what: str) -> object:
        if key_id != self.key_id:
            raise VaultError(f"{what} was sealed with key {key_id}, this key is {self.key_id}")
        try:
            plain = AESGCM(self._enc).decrypt(nonce, ciphertext, aad.encode())
        except InvalidTag:
            raise VaultError(f"{what} fails authentication (tampered or moved)") from None
        return json.loads(plain)

    def seal(self, record: IdentityRecord, subject_code: str) -> tuple[bytes, bytes]:
        """Encrypt ``record`` for ``subject_code``; returns ``(nonce, ciphertext)``."""
        return self._seal(record.model_dump(mode="json"), self._identity_aad(subject_code))

    def open(
        self, nonce: bytes, ciphertext: bytes, subject_code: str, key_id: str
    ) -> IdentityRecord:
        """Decrypt and authenticate; raises :class:`VaultError` on a wrong key or tampering."""
        data = self._open(
            nonce, ciphertext, self._identity_aad(subject_code), key_id,
            f"identity of {subject_code}",
        )  # fmt: skip
        return IdentityRecord.model_validate(data)

    def _identity_aad(self, subject_code: str) -> str:
        return f"radiotrial-identity|{subject_code}|{self.key_id}"

    def seal_contact(self, record: RequestContactRecord, reference: str) -> tuple[bytes, bytes]:
        """Encrypt who sent the request ``reference``; returns ``(nonce, ciphertext)``."""
        aad = f"radiotrial-request-contact|{reference}|{self.key_id}"
        return self._seal(record.model_dump(mode="json"), aad)

    def open_contact(
        self, nonce: bytes, ciphertext: bytes, reference: str, key_id: str
    ) -> RequestContactRecord:
        """Decrypt and authenticate a request's contact record."""
        aad = f"radiotrial-request-contact|{reference}|{self.key_id}"
        data = self._open(nonce, ciphertext, aad, key_id, f"contact of request {reference}")
        return RequestContactRecord.model_validate(data)

    def seal_recipients(self, addresses: tuple[str, ...], mail_uid: str) -> tuple[bytes, bytes]:
        """Encrypt the recipient addresses of a queued e-mail."""
        return self._seal(list(addresses), f"radiotrial-outbox|{mail_uid}|{self.key_id}")

    def open_recipients(
        self, nonce: bytes, ciphertext: bytes, mail_uid: str, key_id: str
    ) -> tuple[str, ...]:
        """Decrypt and authenticate the recipients of a queued e-mail."""
        aad = f"radiotrial-outbox|{mail_uid}|{self.key_id}"
        data = self._open(nonce, ciphertext, aad, key_id, f"recipients of e-mail {mail_uid}")
        if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
            raise VaultError(f"recipients of e-mail {mail_uid} are not a list of addresses")
        return tuple(data)

    def _hmac(self, text: str) -> str:
        return hmac.new(self._mac, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def person_keys(
        self,
        family_name: str,
        given_name: str | None = None,
        *,
        date_of_birth: date | None = None,
        email: str | None = None,
        phone: str | None = None,
        document: tuple[str, str, str] | None = None,
    ) -> PersonKeys:
        """Keyed hashes for duplicate detection.

        Names are NFKC-normalised, case-folded and stripped of spaces, hyphens, dots and
        apostrophes; e-mail is case-folded; a telephone number is reduced to its digits.
        ``document`` is ``(type, country, number)``. The name-only key is the name + birth
        date key with an empty date (registries from before identity keys existed hold exactly
        those hashes).
        """
        name = f"{_normalise(family_name)}|{_normalise(given_name)}"
        strong: dict[str, str] = {}  # strongest first: a match reports the first it shares
        if date_of_birth is not None:
            strong[self._hmac(f"person|{name}|{date_of_birth.isoformat()}")] = "name and birth date"
        if document is not None:
            doc_type, country, number = document
            key = self._hmac(f"document|{doc_type}|{country}|{_normalise(number)}")
            strong[key] = "identity document"
        if email:
            strong[self._hmac(f"person-email|{name}|{email.strip().casefold()}")] = (
                "name and e-mail"
            )
        if phone and _phone_digits(phone):
            strong[self._hmac(f"person-phone|{name}|{_phone_digits(phone)}")] = "name and telephone"
        return PersonKeys(name=self._hmac(f"person|{name}|"), strong=strong)

    def identity_keys(self, record: IdentityRecord) -> PersonKeys:
        """:meth:`person_keys` of an identity record."""
        document = None
        if record.document_number is not None:
            document = (
                record.document_type or "", record.document_country or "", record.document_number
            )  # fmt: skip
        return self.person_keys(
            record.family_name,
            record.given_name,
            date_of_birth=record.date_of_birth,
            email=record.email,
            phone=record.phone,
            document=document,
        )

    def contact_keys(self, person: ContactPerson) -> PersonKeys:
        """:meth:`person_keys` of a person named in a portal request (one full-name field)."""
        return self.person_keys(person.full_name, email=person.email, phone=person.phone)
