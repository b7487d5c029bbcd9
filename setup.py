"""Build hook: the wheel carries rules/, templates/ and migrations/ as ``coachapp/_data/…``.

They stay top-level folders in the repository (the design card); ``coachapp.config.data_path``
uses the checkout's in a checkout (and an editable install) and the bundled copy when coachapp
is installed from a wheel. Everything else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = ("rules", "templates", "migrations")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders
        target = Path(self.build_lib) / "coachapp" / "_data"
        shutil.rmtree(target, ignore_errors=True)  # no stale file from an earlier build
        for name in DATA:
            shutil.copytree(name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))


setup(cmdclass={"build_py": BuildPyWithData})
