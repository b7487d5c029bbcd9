"""WSGI entry point, and the two commands of the README.

    gunicorn wsgi:app                      # web (production)
    celery -A wsgi.celery_app worker       # worker
    celery -A wsgi.celery_app beat         # beat

    python3 wsgi.py            # bootstrap .venv, migrate, run web + worker + beat
    python3 wsgi.py test       # bootstrap .venv, run the test suite

The bootstrap part uses the standard library only, so it works on a fresh
machine with nothing but Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COACHAPP_VENV") or ROOT / ".venv")


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def _bootstrap() -> None:
    """Create .venv and install the project (with test extras) when needed.

    Dependencies come from requirements-dev.lock (exact versions, hashes checked), then the
    project itself is installed in editable mode. A dependency that pyproject.toml names and
    the lock lacks is still installed, at its newest version, so the commands keep working;
    tests/deploy/test_lock.py fails until ``.ci/lock`` is run.
    """
    stamp = VENV / ".coachapp-installed"
    inputs = [ROOT / "pyproject.toml", ROOT / "requirements-dev.lock"]
    wanted = "".join(path.read_text() for path in inputs if path.exists())
    if not _venv_python().exists():
        print(f"Creating virtual environment in {VENV} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != wanted:
        print("Installing coachapp and its dependencies …", flush=True)
        pip = [str(_venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        if inputs[1].exists():
            subprocess.run([*pip, "--require-hashes", "-r", str(inputs[1])], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text(wanted)


if __name__ == "__main__":
    if not _in_venv():
        _bootstrap()
        os.execv(str(_venv_python()), [str(_venv_python()), __file__, *sys.argv[1:]])
    from coachapp.devrun import main

    sys.exit(main(sys.argv[1:]))
else:
    from coachapp import create_app

    app = create_app()
    celery_app = app.extensions["celery"]
