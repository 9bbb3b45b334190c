"""`make run` from this checkout: serves /healthz, prints a demo login, and a second run
neither reinstalls nor reseeds."""

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from .serverproc import ROOT, free_port

pytestmark = pytest.mark.sqlite_only


def make_run_until_healthy(env, timeout=120):
    """Run `make run`, wait for /healthz, stop it; return (healthz status, output)."""
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, text=True)
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    status = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.1)  # polling until the server answers
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    return status, output


def test_make_run_twice(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "LOBBY_ENV",
                                                             "TEST_DATABASE_URL", "REDIS_URL")}
    env.update(LOBBY_INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(free_port()))
    status, first = make_run_until_healthy(env)
    assert status == 200, first
    assert "user: admin" in first and "password:" in first
    login = next(line for line in first.splitlines() if "password:" in line)

    env["PORT"] = str(free_port())
    status, second = make_run_until_healthy(env)
    assert status == 200, second
    assert "already present" in second
    assert "pip install" not in second and "npm ci" not in second
    assert login.split("password:")[1].strip() in second  # the same demo login, reprinted
