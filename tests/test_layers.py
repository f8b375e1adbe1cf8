"""The package's layers point one way, and only handlers and the factory read the app's keys.

Layers, top to bottom (a module may import its own layer and any below it,
never one above; imports under ``if TYPE_CHECKING:`` are annotations, not
dependencies, and are not counted):

1. entry: the ``safestream`` command (``safestream.cli``)
2. factory: ``create_app``, the route table, and the runtime that drives it (app, app_tasks, routes, runner, demo)
3. handlers: HTTP routes, the console, the Socket.IO namespace, the app keys, and the helpers they share
4. services: chat, gifts, the cluster, accounts (the call graph the factory wires)
5. storage: the database and the logs
6. transport: the HTTP layer under the handlers, the Socket.IO server, its connections and codec
7. domain: moderation (scoring, policies, chat-mode rules), the value types of accounts and gifts, settings
8. foundation: errors, logging, the shipped files

Reading ``app[...]`` is narrower than the handler layer: only the modules in
``APP_READERS`` may (see there); everything else, the Socket.IO namespace
included, is handed its collaborators by the factory.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "safestream"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry", ("safestream.cli", "safestream.__main__")),
    (
        "factory",
        ("safestream.app", "safestream.app_tasks", "safestream.routes", "safestream.runner", "safestream.demo"),
    ),
    (
        "handlers",
        (
            "safestream.api",
            "safestream.console",
            "safestream.auth.routes",
            "safestream.auth.oidc_routes",
            "safestream.gifts.routes",
            "safestream.sio.namespace",
            "safestream.sio.boundary",
            "safestream.app_keys",
            "safestream.templating",
            "safestream.auth.oidc_accounts",
        ),
    ),
    ("services", ("safestream.chat", "safestream.gifts", "safestream.cluster", "safestream.auth")),
    ("storage", ("safestream.storage",)),
    ("transport", ("safestream.http", "safestream.sio")),
    (
        "domain",
        (
            "safestream.moderation",
            "safestream.auth.roles",
            "safestream.auth.names",
            "safestream.gifts.catalogue",
            "safestream.settings",
            "safestream.settings_env",
            "safestream.auth.oidc_settings",
            "safestream.install_secret",
        ),
    ),
    ("foundation", ("safestream.errors", "safestream.logs", "safestream.resources", "safestream.gctune", "safestream")),
]

#: Every module that may subscript an app (``app[...]``, ``request.app[...]``), by name.
#: Handlers look a service up per request; the factory stores what it builds (and reads a
#: key back where no local variable holds the object). ``app[...]`` subscripts per category
#: when this list last changed (``app_key_reads(everywhere=True)``): HTTP handlers 189 (api 54,
#: auth routes 37, console views and forms 95, gift routes 3); factory 58 (app 37, of them 33
#: stores; app_tasks 16; runner 5); the socket namespace and every other module 0.
APP_READERS = frozenset(
    {
        # HTTP handlers: the REST API, sign-in and the gift API
        "safestream.api.admin",
        "safestream.api.moderation",
        "safestream.api.modes",
        "safestream.api.pages",
        "safestream.api.status",
        "safestream.api.streams",
        "safestream.auth.routes",
        "safestream.auth.oidc_routes",
        "safestream.gifts.routes",
        # HTTP handlers: the console's views and forms
        "safestream.console.views",
        "safestream.console.forms",
        "safestream.console.policy_editor",
        "safestream.console.sign_in",
        "safestream.console.stream_controls",
        "safestream.console.user_panel",
        # the factory
        "safestream.app",
        "safestream.app_tasks",
        "safestream.runner",
    }
)


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, best_len = len(LAYERS) - 1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


def _runtime_imports(tree: ast.Module, module: str) -> list[tuple[int, str]]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level] if not module.endswith("__init__") else module.split(".")
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from safestream.gifts import catalogue`` depends on the submodule, not on the package's layer.
            submodules = [f"{target}.{alias.name}" for alias in node.names if _is_module(f"{target}.{alias.name}")]
            found += [(node.lineno, name) for name in submodules or [target]]
    return [(line, name) for line, name in found if name == "safestream" or name.startswith("safestream.")]


def _sources() -> list[tuple[str, Path]]:
    return sorted((_module(path), path) for path in PACKAGE.rglob("*.py"))


def test_layers_point_one_way() -> None:
    violations = []
    for module, path in _sources():
        own = layer_of(module)
        for line, target in _runtime_imports(ast.parse(path.read_text("utf-8")), module):
            if target == "safestream":
                continue
            if layer_of(target) < own:
                violations.append(
                    f"{module}:{line} ({LAYERS[own][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
                )
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


def _app_subscripts(tree: ast.AST) -> int:
    """``app[...]``, ``request.app[...]``, ``self.app[...]``: any subscript of something called ``app``."""
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and (
            (isinstance(node.value, ast.Name) and node.value.id == "app")
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "app")
        )
    )


def app_key_reads(*, everywhere: bool = False) -> dict[str, int]:
    """``app[...]`` subscripts per module outside ``APP_READERS`` (``everywhere``: in every module)."""
    counts = {}
    for module, path in _sources():
        if module in APP_READERS and not everywhere:
            continue
        n = _app_subscripts(ast.parse(path.read_text("utf-8")))
        if n:
            counts[module] = n
    return counts


def test_only_handlers_and_the_factory_read_app_keys() -> None:
    assert app_key_reads() == {}


def test_the_app_key_check_sees_every_spelling() -> None:
    """The check itself: a service or the socket namespace looking a key up is caught."""
    source = "x = app[ROOMS_KEY]\ny = request.app[SESSIONS_KEY]\nz = self.app[PIPELINE_KEY].submit()\n"
    assert _app_subscripts(ast.parse(source)) == 3


def test_every_listed_reader_exists() -> None:
    """A renamed handler module must not leave a stale exemption behind."""
    modules = {module for module, _ in _sources()}
    assert modules >= APP_READERS, sorted(APP_READERS - modules)


def test_the_layer_check_sees_a_violation() -> None:
    """The check itself: a storage module importing a chat one is caught."""
    tree = ast.parse("from safestream.chat.rooms import Rooms\n")
    imports = _runtime_imports(tree, "safestream.storage.example")
    assert any(layer_of(t) < layer_of("safestream.storage.example") for _, t in imports)


def test_module_names_are_unique_and_modules_short() -> None:
    names: dict[str, list[str]] = {}
    too_long = []
    for module, path in _sources():
        leaf = module.rsplit(".", 1)[-1]
        if path.name != "__init__.py":
            names.setdefault(leaf, []).append(module)
        lines = len(path.read_text("utf-8").splitlines())
        if lines > 300:
            too_long.append(f"{module}: {lines} lines")
    # One ``routes`` per package that serves URLs is the convention; any other repeated name is two jobs.
    repeated = {leaf: mods for leaf, mods in names.items() if len(mods) > 1 and leaf not in {"routes"}}
    assert not too_long, too_long
    assert not repeated, repeated
