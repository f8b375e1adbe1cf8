"""Where the server's non-Python files are: templates, static assets, migrations, the protocol.

In the repository they are top-level folders beside the package; the wheel
ships them inside it (setup.py maps each folder to ``safestream/<folder>``
and copies alembic.ini beside them). ``importlib.resources`` finds the
installed copy; a source checkout (``PYTHONPATH=.`` or an editable install,
where the mapping is not materialised) falls back to the folder next to the
package. Every caller asks here, so no module guesses the project root.

``data/`` (the moderation training data, 2.7 MB) does not ship: training is a
developer's step, run from a checkout (or with ``--data``). ``checkout``
names where it is in a checkout; from a wheel that path does not exist, and
the training command says so.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The names that ship: four folders and one file.
SHIPPED = ("templates", "static", "migrations", "docs", "alembic.ini")
#: The top-level folders a source checkout has and the wheel leaves out.
CHECKOUT_ONLY = ("data",)


def shipped(name: str) -> Path:
    """The installed copy of ``name`` (one of SHIPPED) or, in a checkout, the top-level one."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped with the package")
    installed = _package() / name
    if installed.exists():
        return installed
    return checkout(name)


def checkout(name: str) -> Path:
    """``name`` (one of SHIPPED or CHECKOUT_ONLY) as a top-level folder of the source checkout."""
    if name not in SHIPPED + CHECKOUT_ONLY:
        raise ValueError(f"{name!r} is not a folder of the project")
    return _package().parent / name


def _package() -> Path:
    return Path(str(files("safestream")))
