"""Where the server's non-Python files are: templates, static assets, migrations, the protocol.

In the repository they are top-level folders beside the package; the wheel
ships them inside it (setup.py maps each folder to ``safestream/<folder>``
and copies alembic.ini beside them). ``importlib.resources`` finds the
installed copy; a source checkout (``PYTHONPATH=.`` or an editable install,
where the mapping is not materialised) falls back to the folder next to the
package. Every caller asks here, so no module guesses the project root.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The names that ship: four folders and one file.
SHIPPED = ("templates", "static", "migrations", "docs", "alembic.ini")


def shipped(name: str) -> Path:
    """The installed copy of ``name`` (one of SHIPPED) or, in a checkout, the top-level one."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped with the package")
    package = Path(str(files("safestream")))
    installed = package / name
    if installed.exists():
        return installed
    return package.parent / name
