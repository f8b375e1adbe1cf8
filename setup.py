"""Packaging: the Python package plus the project's top-level data folders.

templates/, static/, migrations/ and docs/ stay top-level folders in the
repository (the layout the project keeps); ``package_dir`` maps each one into
the wheel as ``safestream/<folder>`` so an installed server finds them with
``importlib.resources`` (see safestream/resources.py). alembic.ini is one file
at the root, so build_py copies it into the package beside them.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

#: top-level folder -> the files of it that ship (globs relative to the folder)
DATA_FOLDERS = {
    "templates": ["**/*.html"],
    "static": ["**/*.svg", "**/*.css", "**/*.js", "**/*.md"],
    "migrations": ["*.py", "*.mako", "versions/*.py"],
    "docs": ["*.md"],
}


class BuildWithAlembicIni(build_py):
    """The standard build, plus alembic.ini copied to safestream/alembic.ini."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's alembic.ini (resources.shipped)
        target = Path(self.build_lib, "safestream")
        self.mkpath(str(target))
        self.copy_file("alembic.ini", str(target / "alembic.ini"))


setup(
    packages=[*find_packages(include=["safestream", "safestream.*"]), *(f"safestream.{d}" for d in DATA_FOLDERS)],
    package_dir={f"safestream.{d}": d for d in DATA_FOLDERS},
    package_data={
        "safestream": ["py.typed", "moderation/models/*.json"],
        **{f"safestream.{d}": globs for d, globs in DATA_FOLDERS.items()},
    },
    exclude_package_data={"": ["__pycache__/*", "*.pyc"]},
    cmdclass={"build_py": BuildWithAlembicIni},
)
