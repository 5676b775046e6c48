"""The Procfile is the single list of commands: every manifest repeats it, command for command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.manifests import (
    RENDER_SERVICES,
    compose_command,
    is_wrapped,
    load_compose,
    procfile,
    railway_configs,
    render_services,
    run_installer,
    supervisor_programs,
    unwrap,
    words,
)

LONG_RUNNING = ("web", "worker", "beat", "flower")


def test_it_has_the_five_procfile_entries_the_manifests_repeat() -> None:
    assert set(procfile()) == {"release", *LONG_RUNNING}


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_starts_every_render_service_with_the_procfile_command(process: str) -> None:
    service = render_services()[RENDER_SERVICES[process]]
    # Render runs startCommand in a shell, so even $PORT is written as in the Procfile.
    assert service["startCommand"] == procfile()[process]


def test_it_runs_the_procfile_release_before_every_render_deploy_that_touches_the_database() -> None:
    services = render_services()
    assert services["vigia-api"]["preDeployCommand"] == procfile()["release"]
    assert services["vigia-worker"]["preDeployCommand"] == procfile()["release"]


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_starts_every_railway_service_with_the_procfile_command(process: str) -> None:
    command = railway_configs()[process]["deploy"]["startCommand"]
    assert words(unwrap(command)) == words(procfile()[process])
    # Railway's Docker builder runs the start command in exec form: only a command that reads a
    # variable may be wrapped in a shell, and then it must be.
    assert is_wrapped(command) == ("$" in procfile()[process])


def test_it_runs_the_procfile_release_before_railway_deploys() -> None:
    configs = railway_configs()
    assert configs["web"]["deploy"]["preDeployCommand"] == [procfile()["release"]]
    assert configs["worker"]["deploy"]["preDeployCommand"] == [procfile()["release"]]


@pytest.mark.parametrize("process", [*LONG_RUNNING, "release"])
def test_it_runs_every_procfile_command_in_the_compose_file(process: str) -> None:
    service = load_compose()["services"][process]
    assert words(compose_command(service)) == words(procfile()[process])
    assert is_wrapped([p.replace("$$", "$") for p in service["command"]]) == ("$" in procfile()[process])


@pytest.mark.parametrize("process", LONG_RUNNING)
def test_it_writes_a_supervisor_program_per_procfile_command(tmp_path: Path, process: str) -> None:
    result = run_installer(tmp_path, "--with-flower", "--with-api")
    assert result.returncode == 0, result.stderr
    programs = supervisor_programs(tmp_path / "etc" / "supervisor" / "conf.d")
    assert set(programs) == set(LONG_RUNNING)
    command = programs[process]["command"]
    assert words(unwrap(command)) == words(procfile()[process])
    assert is_wrapped(command) == ("$" in procfile()[process])


def test_it_runs_the_procfile_release_from_the_vps_installer(tmp_path: Path) -> None:
    first = run_installer(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "skipped: set DATABASE_URL" in first.stdout
    env_file = next(tmp_path.rglob(".env"))
    env_file.write_text(env_file.read_text().replace("DATABASE_URL=\n", "DATABASE_URL=postgresql://db/vigia\n"))
    second = run_installer(tmp_path)
    assert f"would run: {procfile()['release']}" in second.stdout
