"""``make workshop`` (scripts/workshop.sh): the join URL it prints carries the LAN address and
the participant page's path, and it warns when the admin key is not set. Only ``--print`` runs
here: nothing listens and no traffic leaves the machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KVA_")}
    return subprocess.run(
        ["bash", "scripts/workshop.sh", "--print"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_prints_the_join_url_with_the_lan_address_and_warns_without_a_key() -> None:
    done = _run(KVA_LAN_IP="192.0.2.10", UI_PORT="8600")
    assert done.returncode == 0, done.stderr
    assert "http://192.0.2.10:8600/workshop?code=" in done.stdout
    assert "http://192.0.2.10:8600/trainer" in done.stdout
    assert "KVA_API_KEY is not set" in done.stderr


def test_no_warning_with_a_key() -> None:
    done = _run(KVA_LAN_IP="192.0.2.10", KVA_API_KEY="secret")
    assert done.returncode == 0, done.stderr
    assert "http://192.0.2.10:8501/workshop?code=" in done.stdout
    assert "WARNING" not in done.stderr
