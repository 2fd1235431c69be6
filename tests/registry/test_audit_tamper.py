"""Property: any single alteration, removal or reordering of audit entries is detected."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiotrial.registry import Actor, Registry, append_audit, upgrade, verify_chain

N = 8
FIELDS = ["at", "actor", "role", "action", "table_name", "record_id", "subject_code", "old",
          "new", "reason", "prev_hash", "hash"]  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chain") / "chain.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    reg = Registry(url)
    for i in range(N):
        with reg.write() as s:
            append_audit(s, Actor("inv", "investigator"), action="update", table_name="evidence",
                         record_id=i, old={"v": i}, new={"v": i + 1}, reason=f"r{i}")  # fmt: skip
    reg.checkpoint()
    reg.dispose()
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("DROP TRIGGER audit_log_no_delete")
    con.commit()
    con.close()
    return path


def _verify(path: Path) -> list[str]:
    reg = Registry(f"sqlite:///{path}")
    try:
        with reg.read() as s:
            return [p.kind for p in verify_chain(s).problems]
    finally:
        reg.dispose()


tamper = st.one_of(
    st.tuples(st.just("alter"), st.integers(1, N), st.sampled_from(FIELDS), st.text(max_size=8)),
    st.tuples(st.just("delete"), st.integers(1, N)),
    st.tuples(st.just("swap"), st.integers(1, N - 1), st.integers(1, N - 1)),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(op=tamper)
def test_any_single_tampering_is_detected(pristine: Path, tmp_path: Path, op: tuple) -> None:  # type: ignore[type-arg]
    path = tmp_path / f"t{abs(hash(op))}.db"
    shutil.copyfile(pristine, path)
    con = sqlite3.connect(path)
    if op[0] == "alter":
        _, seq, field, text = op
        before = con.execute(f"SELECT {field} FROM audit_log WHERE seq = ?", (seq,)).fetchone()[0]
        if before == text:
            con.close()
            return  # not a change
        con.execute(f"UPDATE audit_log SET {field} = ? WHERE seq = ?", (text, seq))
    elif op[0] == "delete":
        con.execute("DELETE FROM audit_log WHERE seq = ?", (op[1],))
    else:
        i, j = op[1], op[1] + op[2] % (N - op[1]) if op[1] < N else op[1]
        if i == j:
            j = i + 1
        con.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (i,))
        con.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (i, j))
        con.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (j,))
    con.commit()
    con.close()
    assert _verify(path), f"{op} went undetected"
