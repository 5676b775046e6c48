"""Fail when a file holds something shaped like a secret (``make test`` runs it over the repo).

Scans every file git tracks (or the paths given) with detect-secrets' default plugins and
filters: private keys, AWS/GitHub/Slack/Stripe/JWT and similar tokens, high-entropy strings,
``password = "..."``-style assignments, credentials in URLs. There is deliberately no baseline
file (it goes stale and hides new findings): a test fixture's fake secret says so on its own line
with an inline ``pragma: allowlist secret`` comment. Prints ``path:line: type`` per finding and
exits 1 when there is any, 0 when the files are clean.

    .venv/bin/python .ci/scan_secrets.py [PATH ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    # A file deleted in the working tree but not yet in git has nothing left to scan.
    return [name for name in listed.decode().split("\0") if name and (REPO_ROOT / name).is_file()]


def scan(paths: list[str]) -> list[tuple[str, int, str]]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    found = SecretsCollection()
    with default_settings():
        found.scan_files(*paths, num_processors=1)
    return sorted((filename, secret.line_number, secret.type) for filename, secret in found)


def main(argv: list[str]) -> int:
    if argv:
        paths = argv
    else:
        paths = tracked_files()
        os.chdir(REPO_ROOT)  # findings are reported relative to the repository
    findings = scan(paths)
    for filename, line, kind in findings:
        # detect-secrets reports paths relative to the working directory; files named on the
        # command line are reported as absolute paths, the repository's own relative to it.
        shown = os.path.abspath(filename) if argv else filename
        print(f"{shown}:{line}: {kind}")
    if findings:
        print(
            f"{len(findings)} possible secret(s) in {len({f for f, _, _ in findings})} file(s). Remove real secrets "
            "(and rotate them); mark a test fixture's fake one with an inline `pragma: allowlist secret` comment."
        )
        return 1
    print(f"no secrets found in {len(paths)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
