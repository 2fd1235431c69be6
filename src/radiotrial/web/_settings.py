"""Settings of the web platform, read from ``RADIOTRIAL_*`` environment variables.

One pydantic-settings class, served by a cached :func:`get_settings`. Secrets have no defaults in
production mode: the app refuses to start without them. In development mode missing secrets are
replaced by random per-process values (sessions and CSRF tokens then die with the process) and a
warning is logged.
"""

from __future__ import annotations

import logging
import secrets
from functools import cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from radiotrial.errors import ValidationError

__all__ = ["SmtpTarget", "WebSettings", "get_settings"]

log = logging.getLogger("radiotrial.web")


class SmtpTarget:
    """A parsed ``smtp://[user:password@]host[:port]`` or ``smtps://`` URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise ValidationError(
                "RADIOTRIAL_SMTP_URL",
                url,
                "expected smtp://host:port, smtp+starttls://host:port or smtps://host:port",
            )
        self.scheme = parts.scheme
        self.host: str = parts.hostname
        default_port = 465 if parts.scheme == "smtps" else 25
        try:
            self.port: int = parts.port or default_port
        except ValueError as exc:
            raise ValidationError("RADIOTRIAL_SMTP_URL", url, "the port is not a number") from exc
        self.username = parts.username
        self.password = parts.password

    def __repr__(self) -> str:  # never print the password
        return f"SmtpTarget({self.scheme}://{self.host}:{self.port})"


class WebSettings(BaseSettings):
    """Configuration of :func:`radiotrial.web.create_app`.

    Every field is read from the environment variable ``RADIOTRIAL_<FIELD>`` (case-insensitive).
    """

    model_config = SettingsConfigDict(env_prefix="RADIOTRIAL_", extra="ignore", frozen=True)

    mode: Literal["development", "production"] = "development"
    db_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the registry; default: the registry's SQLite file.",
    )
    smtp_url: str | None = Field(
        None, description="SMTP server, e.g. smtp://127.0.0.1:8025; unset: outbox table + log."
    )
    dosimetry_dir: Path = Field(
        Path("var/dosimetry"),
        description="Root of the `radiotrial dose run` output folders that staff link to cycles.",
    )
    mail_from: str = Field("radiotrial@localhost", description="Sender address of notices.")
    secret_key: SecretStr | None = Field(
        None, description="Signs CSRF tokens and session cookies (>= 32 characters)."
    )
    vault_key: SecretStr | None = Field(
        None, description="Key of the identity vault (see radiotrial.registry)."
    )
    protocol_file: Path | None = Field(
        None, description="Protocol YAML; default: the bundled [177Lu]Lu-NeoB protocol."
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL used in links inside e-mails."
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Largest accepted request body.")
    form_rate_limit: int = Field(
        5, ge=1, description="Public form submissions allowed per client per window."
    )
    form_rate_window_s: float = Field(600.0, gt=0, description="Rate-limit window in seconds.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins before throttling.")
    login_lockout_s: float = Field(900.0, gt=0, description="Throttle duration after failures.")
    session_idle_s: float = Field(1800.0, gt=0, description="Staff session idle timeout.")
    session_max_s: float = Field(12 * 3600.0, gt=0, description="Staff session absolute lifetime.")
    api_token_s: float = Field(3600.0, gt=0, description="Lifetime of an API bearer token.")
    secure_cookies: bool | None = Field(
        None, description="Secure flag on cookies; default: on in production, off in development."
    )
    csrf_max_age_s: float = Field(7200.0, gt=0, description="Lifetime of a form's CSRF token.")
    trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy only)."
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        SmtpTarget(value)
        return value

    @model_validator(mode="after")
    def _secrets(self) -> Self:
        if self.mode == "production":
            missing = [
                f"RADIOTRIAL_{name.upper()}"
                for name in ("secret_key", "vault_key")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"production mode needs {', '.join(missing)} (no defaults)")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("RADIOTRIAL_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def smtp(self) -> SmtpTarget | None:
        """The parsed SMTP target, or None for outbox + log delivery."""
        return None if self.smtp_url is None else SmtpTarget(self.smtp_url)

    @property
    def cookies_secure(self) -> bool:
        """Whether cookies carry the Secure flag."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.mode == "production"

    def signing_key(self) -> str:
        """The secret key, or a random per-process key in development mode."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _ephemeral_key()


@cache
def _ephemeral_key() -> str:
    log.warning("RADIOTRIAL_SECRET_KEY is not set: using a random key for this process only")
    return secrets.token_urlsafe(48)


@cache
def get_settings() -> WebSettings:
    """Settings from the environment, read once per process."""
    return WebSettings()
