"""The ``safestream`` command: serve, migrate, import-jsonl, create-user, moderate, train-moderation.

The top layer beside the app factory: it may import anything; nothing in the
package imports it.
"""

from safestream.cli.main import main

__all__ = ["main"]
