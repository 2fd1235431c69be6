"""Load benchmark of the public portal: pre-screening submissions against the SQLite default.

A real server (``radiotrial serve``, one uvicorn process, SQLite in WAL mode, outbox table)
receives ``RADIOTRIAL_BENCH_WEB_N`` (default 5,000) pre-screening submissions from 50
concurrent clients over loopback; every tenth client also re-posts its last form (a double
click). Afterwards the registry must hold exactly one request record per distinct submission,
with every returned reference present: none lost, none duplicated.
Baseline: the same submissions from a single sequential client, measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

N_DEFAULT = 5000
CLIENTS = 50
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE = re.compile(r'id="reference">([A-Z0-9-]+)<')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _form(i: int, token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "requester_type": ("patient", "relative", "physician")[i % 3],
        "full_name": f"Bench Person {i:06d}",
        "contact_channel": "phone",
        "phone": f"+86 21 {i:08d}",
        "contact_time": "any",
        "time_zone": "Asia/Shanghai",
        "preferred_language": ("zh", "en")[i % 2],
        "interpreter": "no",
        "country": "CN",
        "travel": "yes",
        "q_advanced": "yes",
        "q_er_positive": "yes",
        "q_her2_negative": "not_sure",
        "q_prior_endocrine": "yes",
        "q_prior_radioligand": "no",
        "q_adult": "yes",
        "q_self_care": "yes",
        "consent_contact": "yes",
        "consent_storage": "yes",
    }


async def _client(
    base: str, ids: list[int], latencies: list[float], refs: dict[int, str], repost: bool
) -> int:
    """Submit the forms ``ids``; return how many re-posts gave a different reference."""
    mismatches = 0
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        last: tuple[int, dict[str, str]] | None = None
        for i in ids:
            page = await client.get("/en/prescreening")
            match = TOKEN.search(page.text)
            if match is None:
                raise RuntimeError(f"no form token (HTTP {page.status_code})")
            data = _form(i, match.group(1))
            t0 = time.perf_counter()
            r = await client.post("/en/prescreening", data=data)
            latencies.append(time.perf_counter() - t0)
            ref = REFERENCE.search(r.text)
            if r.status_code != 200 or ref is None:
                raise RuntimeError(f"submission {i} failed: HTTP {r.status_code}")
            refs[i] = ref.group(1)
            last = (i, data)
        if repost and last is not None:
            r = await client.post("/en/prescreening", data=last[1])
            ref = REFERENCE.search(r.text)
            mismatches += int(ref is None or ref.group(1) != refs[last[0]])
    return mismatches


async def _load(base: str, ids: list[int], clients: int) -> tuple[list[float], dict[int, str], int]:
    latencies: list[float] = []
    refs: dict[int, str] = {}
    shares = [ids[k::clients] for k in range(clients)]
    results = await asyncio.gather(
        *(_client(base, share, latencies, refs, k % 10 == 0) for k, share in enumerate(shares))
    )
    return latencies, refs, sum(results)


def _count_requests(db_url: str) -> tuple[int, set[str]]:
    import sqlalchemy as sa

    from radiotrial.registry import Registry, Request

    registry = Registry(db_url)
    try:
        with registry.read() as session:
            refs = list(session.execute(sa.select(Request.reference)).scalars())
    finally:
        registry.dispose()
    return len(refs), set(refs)


def _serve(tmp: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    from radiotrial.registry import generate_key

    db_url = f"sqlite:///{tmp / 'bench.db'}"
    env = {
        **os.environ,
        "RADIOTRIAL_SECRET_KEY": "bench-" + "s" * 40,
        "RADIOTRIAL_VAULT_KEY": generate_key(),
        "RADIOTRIAL_FORM_RATE_LIMIT": "100000000",
        "RADIOTRIAL_SMTP_URL": "",
    }
    env.pop("RADIOTRIAL_DB_URL", None)
    cmd = [sys.executable, "-c", "from radiotrial.cli import main; main()", "serve",
           "--host", "127.0.0.1",
           "--port", str(port), "--db", db_url]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, db_url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("radiotrial serve did not start")
        time.sleep(0.2)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def run() -> list[dict[str, Any]]:
    n = int(os.environ.get("RADIOTRIAL_BENCH_WEB_N", N_DEFAULT))
    n_baseline = max(50, n // 25)
    with tempfile.TemporaryDirectory(prefix="radiotrial-bench-web-") as tmpdir:
        tmp = Path(tmpdir)
        port = _free_port()
        proc, db_url = _serve(tmp, port)
        base = f"http://127.0.0.1:{port}"
        try:
            t0 = time.perf_counter()
            seq_lat, seq_refs, _ = asyncio.run(_load(base, list(range(n_baseline)), 1))
            seq_wall = time.perf_counter() - t0
            ids = list(range(n_baseline, n_baseline + n))
            t0 = time.perf_counter()
            lat, refs, mismatches = asyncio.run(_load(base, ids, CLIENTS))
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        stored, codes = _count_requests(db_url)
    returned = set(refs.values()) | set(seq_refs.values())
    expected = n + n_baseline
    lost = len(returned - codes) + max(0, expected - len(returned))
    duplicated = (stored - expected if stored > expected else 0) + mismatches
    per_req_ms = 1e3 * wall / n
    seq_per_req_ms = 1e3 * seq_wall / n_baseline
    p95_ms = 1e3 * _p95(lat)
    seq_p95_ms = 1e3 * _p95(seq_lat)
    return [
        {
            "name": f"portal: {n} pre-screening submissions, {CLIENTS} clients (wall / request)",
            "value": per_req_ms,
            "unit": "ms",
            "target": "all stored once",
            "baseline_name": "1 sequential client",
            "baseline_value": seq_per_req_ms,
            "ratio": seq_per_req_ms / per_req_ms,
        },
        {
            "name": f"portal: p95 submission latency, {CLIENTS} clients",
            "value": p95_ms,
            "unit": "ms",
            "target": "< 2000 ms",
            "baseline_name": "p95 with 1 sequential client",
            "baseline_value": seq_p95_ms,
            "ratio": seq_p95_ms / p95_ms,
        },
        {
            "name": "portal: requests lost or duplicated",
            "value": float(lost + duplicated),
            "unit": "requests",
            "target": "0",
            "baseline_name": f"stored requests (expected {expected})",
            "baseline_value": float(stored),
            "ratio": float(stored == expected and lost + duplicated == 0),
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
