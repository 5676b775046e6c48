"""deploy/vps/install.sh: clean shell, the same files on every run, .env never overwritten.

These run the installer in its ``--dry-run`` mode, which performs every file-writing step
(supervisor programs, the group, .env, redis.conf when one is under the root) into a temporary
root and only describes the rest; the boot test runs the programs it writes under a real
supervisord, and test_vps_install_real.py runs the installer for real, as root, in a disposable
Debian root.
"""

from __future__ import annotations

import getpass
import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.deploy.manifests import INSTALLER, run_installer, supervisor_programs

CONF = Path("etc/supervisor/conf.d")


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_it_passes_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed here (apt-get install shellcheck)")
    result = subprocess.run(["shellcheck", "--severity=style", str(INSTALLER)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout


def test_it_writes_the_same_files_when_run_twice(tmp_path: Path) -> None:
    first = run_installer(tmp_path, "--with-flower")
    assert first.returncode == 0, first.stderr
    before = _tree(tmp_path)
    second = run_installer(tmp_path, "--with-flower")
    assert second.returncode == 0, second.stderr
    assert _tree(tmp_path) == before
    assert "written" not in second.stdout
    assert second.stdout.count("unchanged") == 4  # worker, beat, flower, the group
    assert "exists; left as it is" in second.stdout


def test_it_creates_a_production_env_once_and_never_overwrites_it(tmp_path: Path) -> None:
    run_installer(tmp_path, "--with-flower", "--with-api")
    (env_file,) = tmp_path.rglob(".env")
    text = env_file.read_text()
    assert "ENVIRONMENT=production\n" in text
    assert "REDIS_URL=redis://127.0.0.1:6379/0\n" in text
    password = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("FLOWER_PASSWORD="))
    assert len(password) >= 24
    assert any(line.startswith("API_KEYS=") and len(line) > len("API_KEYS=") + 20 for line in text.splitlines())
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env_file.write_text(text.replace("TRANSPARENCY_API_KEY=\n", "TRANSPARENCY_API_KEY=my-real-key\n"))
    run_installer(tmp_path, "--with-flower", "--with-api")
    again = env_file.read_text()
    assert "TRANSPARENCY_API_KEY=my-real-key\n" in again
    assert f"FLOWER_PASSWORD={password}\n" in again


def test_it_removes_a_program_no_longer_asked_for(tmp_path: Path) -> None:
    run_installer(tmp_path, "--with-flower")
    assert (tmp_path / CONF / "vigia-flower.conf").exists()
    result = run_installer(tmp_path)
    assert "vigia-flower.conf removed" in result.stdout
    assert set(supervisor_programs(tmp_path / CONF)) == {"worker", "beat"}
    assert "programs=vigia-worker,vigia-beat\n" in (tmp_path / CONF / "vigia.conf").read_text()


def test_it_turns_on_aof_and_noeviction_in_redis_conf_once(tmp_path: Path) -> None:
    conf = tmp_path / "etc" / "redis" / "redis.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("bind 127.0.0.1\nappendonly no\n# maxmemory-policy noeviction\n")
    first = run_installer(tmp_path)
    text = conf.read_text()
    assert "appendonly yes\n" in text and "appendonly no" not in text
    assert "\nmaxmemory-policy noeviction\n" in text
    assert "redis.conf updated" in first.stdout
    second = run_installer(tmp_path)
    assert "redis.conf unchanged" in second.stdout
    assert conf.read_text() == text


def test_it_writes_programs_supervisor_accepts_with_rotated_logs(tmp_path: Path) -> None:
    from supervisor.options import ServerOptions

    logs = tmp_path / "logs"
    logs.mkdir()  # a dry run creates it under --root only; supervisor checks the real path
    result = run_installer(tmp_path / "root", "--with-flower", "--with-api", "--user", getpass.getuser(),
                           "--log-dir", str(logs), "--app-home", str(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    main = tmp_path / "supervisord.conf"
    main.write_text(f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/s.pid\n"
                    f"[include]\nfiles={tmp_path / 'root' / CONF}/*.conf\n")
    options = ServerOptions()
    options.realize(args=["-c", str(main)])
    (group,) = options.process_group_configs
    assert group.name == "vigia"
    programs = {p.name: p for p in group.process_configs}
    assert set(programs) == {"vigia-worker", "vigia-beat", "vigia-flower", "vigia-web"}
    for name, program in programs.items():
        assert program.stdout_logfile == str(logs / f"{name.removeprefix('vigia-')}.log")
        assert program.stdout_logfile_maxbytes > 0 and program.stdout_logfile_backups > 0
        assert program.directory == str(tmp_path / "home" / "app")
        assert program.autorestart and program.stopasgroup and program.killasgroup
    assert programs["vigia-worker"].stopwaitsecs >= 30  # WORKER_SOFT_SHUTDOWN_TIMEOUT plus the requeue
    assert programs["vigia-flower"].environment["PORT"] == "5555"


def test_it_refuses_an_unknown_option(tmp_path: Path) -> None:
    result = run_installer(tmp_path, "--with-everything")
    assert result.returncode != 0
    assert "unknown option: --with-everything" in result.stderr


def test_it_prints_the_options_the_readme_lists() -> None:
    from tests.support.processes import REPO_ROOT

    help_text = subprocess.run(["bash", str(INSTALLER), "--help"], capture_output=True, text=True, timeout=30,
                               check=True).stdout
    readme = (REPO_ROOT / "docs" / "deploy.md").read_text()
    assert f"```\n{help_text}```" in readme, "docs/deploy.md's VPS section must show install.sh --help exactly"

