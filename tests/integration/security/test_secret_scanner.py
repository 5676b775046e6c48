"""The repository's secret scanner (``.ci/scan_secrets.py``, run by ``make test``) catches what it must.

Each test writes files holding secrets of a known shape, made at run time (so this file holds
none), and runs the scanner on them as ``make test`` runs it: a finding exits 1 and names the
file, the line and the kind; the inline allowlist pragma, and only it, lets a fixture's fake
secret through.
"""

from __future__ import annotations

import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT

SCANNER = REPO_ROOT / ".ci" / "scan_secrets.py"
PRAGMA = "pragma: allowlist " + "secret"


def scan(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCANNER), *map(str, paths)], capture_output=True, text=True,
                          timeout=120, check=False)


def aws_key() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


def private_key() -> str:
    return "-----BEGIN " + "RSA PRIVATE KEY-----\n" + secrets.token_urlsafe(48) + "\n-----END RSA PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("settings.py", lambda: f'AWS_ACCESS_KEY_ID = "{aws_key()}"\n', "AWS Access Key"),
        ("deploy.pem", private_key, "Private Key"),
        ("notes.md", lambda: f"db: postgresql://vigia:{secrets.token_hex(12)}@db.example.com:5432/vigia\n",
         "Basic Auth Credentials"),
    ],
)
def test_it_fails_on_a_planted_secret_and_names_where_it_is(tmp_path: Path, name: str, content: object, kind: str) -> None:
    planted = tmp_path / name
    planted.write_text("# an ordinary file\n" + content() + "\n")  # type: ignore[operator]
    result = scan(planted)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{planted}:2: {kind}" in result.stdout


def test_it_lets_through_a_fake_secret_marked_with_the_pragma_on_its_line(tmp_path: Path) -> None:
    marked = tmp_path / "fixture.py"
    marked.write_text(f'FAKE_KEY = "{aws_key()}"  # {PRAGMA}\n')
    unmarked = tmp_path / "other.py"
    unmarked.write_text(f'# {PRAGMA}\nFAKE_KEY = "{aws_key()}"\n')  # the pragma covers its own line only
    assert scan(marked).returncode == 0
    result = scan(marked, unmarked)
    assert result.returncode == 1 and f"{unmarked}:2: AWS Access Key" in result.stdout
    assert str(marked) not in result.stdout


def test_it_passes_clean_files(tmp_path: Path) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text('REQUEST_ID_HEADER = "X-Request-ID"\nTIMEOUT_SECONDS = 30\n')
    result = scan(clean)
    assert result.returncode == 0, result.stdout
    assert "no secrets found in 1 files" in result.stdout
