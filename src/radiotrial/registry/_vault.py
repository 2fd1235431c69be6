"""Identity vault: identifying data encrypted at rest, keyed hashes for duplicate detection.

Names, contacts, identity documents, nationality and preferred language are serialised as
canonical JSON and sealed with AES-256-GCM (NIST SP 800-38D; 96-bit random nonce) under a key
derived from the master key with HKDF-SHA256 (RFC 5869). The subject code and key id are bound
as additional authenticated data, so a ciphertext moved to another subject fails to open.
Duplicate detection uses HMAC-SHA256 (RFC 2104) under a second HKDF-derived key over normalised
name + birth date and over the identity document, so duplicates are found without decrypting.

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

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "IdentityRecord", "Vault", "generate_key"]

KEY_ENV = "RADIOTRIAL_VAULT_KEY"
KEY_FILE_ENV = "RADIOTRIAL_VAULT_KEY_FILE"

Short = Annotated[str, Field(min_length=1, max_length=200)]


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
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()\-]{6,24}$")] | None = None
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
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"]) or "identity"
            value = err.get("input") if err["type"] != "missing" else ...
            shown = "***" if field not in ("preferred_language", "document_type") else value
            if isinstance(value, dict):
                shown = ...
            raise ValidationError(
                f"identity.{field}", shown, err["msg"].removeprefix("Value error, ")
            ) from None


def _normalise(text: str | None) -> str:
    """NFKC, case-folded, without spaces, hyphens, dots or apostrophes."""
    if not text:
        return ""
    return re.sub(r"[\s\-'.’·]", "", unicodedata.normalize("NFKC", text).casefold())


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

    def _aad(self, subject_code: str) -> bytes:
        return f"radiotrial-identity|{subject_code}|{self.key_id}".encode()

    def seal(self, record: IdentityRecord, subject_code: str) -> tuple[bytes, bytes]:
        """Encrypt ``record`` for ``subject_code``; returns ``(nonce, ciphertext)``."""
        nonce = secrets.token_bytes(12)
        plain = canonical_json(record.model_dump(mode="json")).encode("utf-8")
        return nonce, AESGCM(self._enc).encrypt(nonce, plain, self._aad(subject_code))

    def open(
        self, nonce: bytes, ciphertext: bytes, subject_code: str, key_id: str
    ) -> IdentityRecord:
        """Decrypt and authenticate; raises :class:`VaultError` on a wrong key or tampering."""
        if key_id != self.key_id:
            raise VaultError(
                f"identity of {subject_code} was sealed with key {key_id}, "
                f"this key is {self.key_id}"
            )
        try:
            plain = AESGCM(self._enc).decrypt(nonce, ciphertext, self._aad(subject_code))
        except InvalidTag:
            raise VaultError(
                f"identity of {subject_code} fails authentication (tampered or moved)"
            ) from None
        return IdentityRecord.model_validate(json.loads(plain))

    def _hmac(self, text: str) -> str:
        return hmac.new(self._mac, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def person_hash(self, record: IdentityRecord) -> str:
        """Keyed hash of normalised family name, given name and birth date."""
        dob = record.date_of_birth.isoformat() if record.date_of_birth else ""
        parts = (_normalise(record.family_name), _normalise(record.given_name), dob)
        return self._hmac("person|" + "|".join(parts))

    def document_hash(self, record: IdentityRecord) -> str | None:
        """Keyed hash of the identity document (type, country, number), or None."""
        if record.document_number is None:
            return None
        parts = (record.document_type or "", record.document_country or "")
        return self._hmac("document|" + "|".join(parts) + "|" + _normalise(record.document_number))
