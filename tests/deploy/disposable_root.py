"""A disposable Debian root for running the VPS installer for real, built from Debian's packages.

:func:`debian_image` builds, once per machine, a Debian 12 (bookworm) root with ``debootstrap
--variant=minbase`` from Debian's mirror, plus the packages the installer's first step installs
(so its Redis can be moved off port 6379 before the installer starts it; the installer's own
``apt-get update && apt-get install`` still runs and finds them installed). It is kept under the
user's cache folder and copied afresh for each test. :func:`run_in_root` runs a script in a copy
inside new mount and PID namespaces (``unshare``) and ``chroot``: ``/proc`` and ``/dev`` are
mounted there only, and when the script ends every process it started (Redis, supervisord and
its programs) ends with the namespace. The network is the host's, so the root reaches Debian's
mirror, PyPI, and the test's PostgreSQL and Portal simulator on 127.0.0.1.

Needs root, ``unshare`` and ``chroot`` (util-linux, coreutils) and ``apt-get`` to install
``debootstrap`` when it is missing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# The installer's step 1 (deploy/vps/install.sh, step_packages).
PACKAGES = ("redis-server", "supervisor", "python3", "python3-venv", "git", "ca-certificates")
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class CannotBuild(RuntimeError):
    """This machine cannot host a disposable root (not root, no apt-get, no unshare)."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vigia-tests"


def _image_key() -> str:
    return hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(PACKAGES)} v1".encode()).hexdigest()[:12]


def _require_host() -> None:
    if os.geteuid() != 0:
        raise CannotBuild("building a Debian root needs root (debootstrap, chroot, mount namespaces)")
    for tool in ("unshare", "chroot", "tar"):
        if shutil.which(tool) is None:
            raise CannotBuild(f"{tool} is not installed")
    if shutil.which("debootstrap") is None:
        if shutil.which("apt-get") is None:
            raise CannotBuild("debootstrap is not installed and there is no apt-get to install it")
        result = subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], capture_output=True, text=True,
                                env={"PATH": SYSTEM_PATH, "DEBIAN_FRONTEND": "noninteractive"}, timeout=600,
                                check=False)
        if result.returncode != 0 or shutil.which("debootstrap") is None:
            raise CannotBuild(f"apt-get install debootstrap failed: {result.stderr[-500:]}")


def debian_image() -> Path:
    """The cached image (a tar of the root); built on first use, which takes a few minutes."""
    _require_host()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"debian-{SUITE}-vps-{_image_key()}.tar"
    with open(folder / "debian-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others wait and reuse it
        if image.is_file():
            return image
        build = folder / f"build-{os.getpid()}"
        shutil.rmtree(build, ignore_errors=True)
        try:
            subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(build), MIRROR], check=True,
                           capture_output=True, timeout=1800, env={"PATH": SYSTEM_PATH})
            # As on any Debian image built in a chroot: packages do not start services while installing.
            policy = build / "usr/sbin/policy-rc.d"
            policy.write_text("#!/bin/sh\nexit 101\n")
            policy.chmod(0o755)
            script = ("apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                      f"{' '.join(PACKAGES)} >/dev/null && apt-get clean")
            _in_namespace(build, script, timeout=1200, check=True)
            partial = image.with_suffix(".partial")
            subprocess.run(["tar", "--numeric-owner", "-C", str(build), "-cf", str(partial), "."], check=True,
                           timeout=600)
            partial.rename(image)
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return image


def unpack(image: Path, root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-xf", str(image)], check=True, timeout=600)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    return root


def _in_namespace(root: Path, script: str, *, timeout: float, check: bool = False,
                  env: dict[str, str] | None = None, binds: dict[Path, str] | None = None
                  ) -> subprocess.CompletedProcess[str]:
    mounts = [f"mount -t proc proc {root}/proc", f"mount --rbind /dev {root}/dev"]
    for source, target in (binds or {}).items():
        mounts.append(f"mkdir -p {root}{target} && mount --bind {source} {root}{target}")
    outer = " && ".join(mounts) + f" && exec chroot {root} /bin/bash -c \"$VIGIA_SCRIPT\""
    run_env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive",
               **(env or {}), "VIGIA_SCRIPT": script}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
                           "bash", "-c", outer], env=run_env, capture_output=True, text=True, timeout=timeout,
                          check=check)


def run_in_root(root: Path, script: str, *, timeout: float, env: dict[str, str] | None = None,
                binds: dict[Path, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with bash as root inside ``root``; everything it started ends with it."""
    return _in_namespace(root, script, timeout=timeout, env=env, binds=binds)
