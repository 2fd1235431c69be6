"""Identity vault, Argon2id passwords, the permission matrix and e-signatures."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.low_level import Type
from hypothesis import given, settings
from hypothesis import strategies as st

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    AuthenticationError,
    IdentityRecord,
    PermissionDeniedError,
    Registry,
    Subject,
    Vault,
    VaultError,
    audited_create,
    audited_update,
    generate_key,
    hash_password,
    permission_matrix,
    require_permission,
    sign_record,
    signature_status,
    verify_password,
)
from radiotrial.registry._types import utcnow
from tests.registry._fixtures import PASSWORD, SQLITE_ONLY, Staff

PERSON = {
    "family_name": "Müller",
    "given_name": "Anna-Lena",
    "date_of_birth": "1968-03-14",
    "email": "anna@example.de",
    "document_type": "passport",
    "document_number": "C01X00T47",
    "document_country": "DEU",
    "nationality": "DEU",
    "preferred_language": "de",
}


# -------------------------------------------------------------------------------------- vault
def test_vault_round_trip_and_binding() -> None:
    vault = Vault(os.urandom(32))
    rec = IdentityRecord.parse(PERSON)
    nonce, ct = vault.seal(rec, "RT-AAAA0001")
    assert b"M\xc3\xbcller" not in ct and b"C01X00T47" not in ct
    assert vault.open(nonce, ct, "RT-AAAA0001", vault.key_id) == rec
    # the subject code is authenticated data: a ciphertext moved to another subject fails
    with pytest.raises(VaultError, match="authentication"):
        vault.open(nonce, ct, "RT-AAAA0002", vault.key_id)
    tampered = bytes([ct[0] ^ 1]) + ct[1:]
    with pytest.raises(VaultError, match="authentication"):
        vault.open(nonce, tampered, "RT-AAAA0001", vault.key_id)
    other = Vault(os.urandom(32))
    with pytest.raises(VaultError, match="sealed with key"):
        other.open(nonce, ct, "RT-AAAA0001", vault.key_id)
    # a fresh nonce per seal: same plaintext, different ciphertexts
    assert vault.seal(rec, "RT-AAAA0001")[1] != ct


def test_keyed_hash_normalises_and_depends_on_key() -> None:
    vault = Vault(os.urandom(32))
    a = vault.identity_keys(IdentityRecord.parse(PERSON))
    b = vault.identity_keys(
        IdentityRecord.parse(
            {
                **PERSON,
                "family_name": " MÜLLER ",
                "given_name": "anna lena",
                "email": None,
                "phone": "+49 30 1234567",
            }
        )
    )
    assert a.name == b.name  # spaces, case and NFKC do not matter
    shared = set(a.strong) & set(b.strong)
    assert {a.strong[k] for k in shared} == {"name and birth date", "identity document"}
    assert "name and e-mail" in a.strong.values() and "name and telephone" in b.strong.values()
    assert all(len(k) == 64 for k in a.all)
    assert Vault(os.urandom(32)).identity_keys(IdentityRecord.parse(PERSON)).name != a.name
    c = vault.identity_keys(IdentityRecord.parse({**PERSON, "date_of_birth": "1968-03-15"}))
    assert c.name == a.name  # the name alone is the same person only possibly
    assert not {k for k, v in c.strong.items() if v == "name and birth date"} & set(a.strong)
    # a telephone number is its digits, 00 read as +
    d = vault.person_keys("Müller", "Anna-Lena", phone="0049 (30) 123-4567")
    assert set(d.strong) <= set(b.strong)


def test_keys_keep_the_hashes_of_earlier_registries() -> None:
    """Before identity keys, ``identities.person_hash`` was HMAC-SHA256 of
    ``person|<family>|<given>|<birth date or empty>`` (normalised) under the vault's MAC key and
    ``document_hash`` of ``document|<type>|<country>|<number>``; migration 0002 moves those
    values, so the keys must reproduce them exactly (written out here, not via the vault)."""
    import hashlib
    import hmac

    vault = Vault(os.urandom(32))
    mac = vault._mac

    def h(text: str) -> str:
        return hmac.new(mac, text.encode(), hashlib.sha256).hexdigest()

    keys = vault.identity_keys(IdentityRecord.parse(PERSON))
    dob = PERSON["date_of_birth"]
    assert h(f"person|müller|annalena|{dob}") in keys.strong
    assert h("person|müller|annalena|") == keys.name
    assert h(f"document|passport|DEU|{str(PERSON['document_number']).casefold()}") in keys.strong


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "identity.email"),
        ({"email": None}, "identity"),
        ({"date_of_birth": "2999-01-01"}, "identity"),
        ({"nationality": "germany"}, "identity.nationality"),
        ({"document_type": None}, "identity"),
        ({"family_name": ""}, "identity.family_name"),
        ({"shoe_size": 42}, "identity.shoe_size"),
    ],
)
def test_identity_validation_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        IdentityRecord.parse({**PERSON, **change})
    assert info.value.field.startswith(field)
    assert "Müller" not in str(info.value)  # identifying values are not echoed


def test_vault_key_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY", raising=False)
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY_FILE", raising=False)
    with pytest.raises(VaultError, match="no vault key"):
        Vault.from_environment()
    key = generate_key()
    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY", key)
    kid = Vault.from_environment().key_id
    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY", "c2hvcnQ=")
    with pytest.raises(VaultError, match="32 bytes"):
        Vault.from_environment()
    monkeypatch.delenv("RADIOTRIAL_VAULT_KEY")
    path = tmp_path / "vault.key"
    path.write_text(key)
    path.chmod(0o644)
    monkeypatch.setenv("RADIOTRIAL_VAULT_KEY_FILE", str(path))
    with pytest.raises(VaultError, match="readable by others"):
        Vault.from_environment()
    path.chmod(0o600)
    assert Vault.from_environment().key_id == kid


def test_database_holds_no_identity_plaintext(tmp_path: Path, vault_key: bytes) -> None:
    from radiotrial.registry import upgrade
    from radiotrial.services import ServiceContext, register_prescreen

    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    reg = Registry(url)
    ctx = ServiceContext(reg, vault=Vault(vault_key))
    register_prescreen(ctx, PERSON, consents={"contact": True})
    reg.dispose()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    for secret in ("Müller", "C01X00T47", "anna@example.de"):
        assert secret.encode() not in raw
    assert vault_key not in raw


# ---------------------------------------------------------------------------------- passwords
def test_argon2id_with_owasp_parameters() -> None:
    h = hash_password(PASSWORD)
    # OWASP Password Storage Cheat Sheet minimum: Argon2id, m = 19 MiB, t = 2, p = 1
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(h, PASSWORD)
    assert not verify_password(h, PASSWORD + "!")
    assert not verify_password("garbage", PASSWORD)
    # interoperable: the reference implementation's verifier accepts it
    assert PasswordHasher(type=Type.ID).verify(h, PASSWORD)
    with pytest.raises(ValidationError, match="at least 12"):
        hash_password("short")


# ------------------------------------------------------------------------------------- roles
READ = {"trial.read"}
# The matrix the trial needs, written out by hand from issue 7 and ICH E6 role descriptions.
EXPECTED = {
    "coordinator": READ
    | {
        "identity.read",
        "identity.write",
        "prescreen.register",
        "prescreen.purge",
        "request.handle",
        "screening.open",
        "evidence.record",
        "subject.enrol",
        "subject.status",
        "ae.report",
    },
    "investigator": READ
    | {
        "audit.read",
        "identity.read",
        "request.handle",
        "screening.open",
        "evidence.record",
        "eligibility.decide",
        "subject.enrol",
        "subject.status",
        "administration.record",
        "ae.report",
        "dlt.adjudicate",
        "record.sign",
    },
    "physicist": READ
    | {"administration.record", "imaging.record", "dosimetry.record", "record.sign"},
    "statistician": READ | {"export.data"},
    "monitor": READ | {"audit.read", "audit.verify", "export.data"},
    "admin": READ
    | {
        "audit.read",
        "audit.verify",
        "user.manage",
        "db.migrate",
        "prescreen.purge",
        "outbox.manage",
    },
    "portal": {"prescreen.register", "outbox.queue"},
    "retention": {"prescreen.purge"},
}


@pytest.mark.parametrize(
    ("role", "action"),
    list(itertools.product(sorted(EXPECTED), sorted(permission_matrix().actions))),
)
def test_permission_matrix_every_role_and_action(role: str, action: str) -> None:
    actor = Actor("someone", role)
    if action in EXPECTED[role]:
        require_permission(actor, action)
    else:
        with pytest.raises(PermissionDeniedError, match=action):
            require_permission(actor, action)


def test_matrix_principles() -> None:
    m = permission_matrix()
    assert set(m.roles) == set(EXPECTED)
    reads = {"trial.read", "audit.read", "audit.verify", "export.data"}
    assert m.roles["monitor"] <= reads  # read-only
    assert "identity.read" not in m.roles["monitor"] | m.roles["statistician"]
    assert "identity.read" not in m.roles["admin"]
    with pytest.raises(ValidationError, match="role"):
        Actor("x", "superuser")
    with pytest.raises(ValidationError, match="action"):
        m.allows("admin", "launch.missiles")


# -------------------------------------------------------------------------------- signatures
@SQLITE_ONLY
def test_signature_bound_to_record_version(
    registry: Registry, staff: Staff, password_hash: str
) -> None:
    inv = staff.investigator
    with registry.write() as s:
        subj = Subject(
            code="RT-SIGN0001",
            protocol_id="p",
            status="screening",
            status_at=utcnow(),
            source="clinic",
            consents={},
        )
        audited_create(s, inv, subj)
        sig = sign_record(s, inv, PASSWORD, subj, meaning="review")
        assert sig.record_version == 1
        assert signature_status(s, sig) == "valid"
        sig_id, subj_id = sig.id, subj.id
    with registry.write() as s, pytest.raises(AuthenticationError):
        sign_record(s, inv, "wrong password!", s.get(Subject, subj_id), meaning="review")
    with registry.write() as s:
        subj = s.get(Subject, subj_id)
        audited_update(s, inv, subj, {"status": "eligible"}, reason="decided")
    with registry.read() as s:
        from radiotrial.registry import Signature

        sig = s.get(Signature, sig_id)
        assert signature_status(s, sig) == "void"
    with registry.write() as s:
        subj = s.get(Subject, subj_id)
        with pytest.raises(ValidationError, match="reason"):
            audited_update(s, inv, subj, {"status": "screening"}, reason=None)
    with registry.read() as s:
        assert s.execute(sa.select(Subject.version).where(Subject.id == subj_id)).scalar() == 2


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip()))
def test_audit_reason_is_kept_verbatim(reason: str) -> None:
    from radiotrial.registry import require_reason

    assert require_reason(reason, "x") == reason.strip()
