"""docs/PROTOCOL.md is the contract: every HTTP route and Socket.IO event in the code is in it.

Routes come from the app the factory builds (so a new ``add_get`` anywhere is
seen); events from the code: the namespace's ``on_<event>`` handlers (client
to server) and every event name the server emits (server to client). A name
missing from the document fails with the list of what to add.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from safestream.app import create_app
from safestream.settings import Settings
from safestream.sio.namespace import ChatNamespace

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text("utf-8")
#: Routes that are transport, not API: Socket.IO's own endpoint and the static file tree (documented once as a prefix).
TRANSPORT = ("/socket.io",)


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def _expand(path: str) -> list[str]:
    """``/api/admin/{unmute,ban}`` is shorthand for both paths; ``{stream}`` stays a parameter."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", path)
    if not match:
        return [path]
    return [
        alt
        for choice in match.group(1).split(",")
        for alt in _expand(path[: match.start()] + choice.strip() + path[match.end() :])
    ]


def _documented_lines() -> list[tuple[set[str], str]]:
    """Each document line: the normalised paths in it, and the line."""
    lines = []
    for line in DOC.splitlines():
        found = re.findall(r"(/[A-Za-z0-9_.{},/-]*[A-Za-z0-9_}])", line)
        found += re.findall(r"(/[A-Za-z0-9_]+)/\.\.\.", line) + re.findall(r"\b[A-Z]+ (/)(?=[\s|])", line)
        paths = {_normalise(p) for raw in found for p in _expand(raw)}
        lines.append((paths, line))
    return lines


def test_every_http_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, log_dir=tmp_path / "logs"))
    lines = _documented_lines()
    missing = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if not path or route.method == "HEAD" or path.startswith(TRANSPORT):
            continue
        method = "GET" if route.method == "*" else route.method
        wanted = _normalise(path)
        if not any(wanted in paths and re.search(rf"\b{method}\b", line) for paths, line in lines):
            missing.append(f"{method} {path}")
    assert not missing, f"routes missing from docs/PROTOCOL.md: {sorted(set(missing))}"


def _client_events() -> set[str]:
    return {name[3:] for name in vars(ChatNamespace) if name.startswith("on_")} - {"connect", "disconnect"}


def _server_events() -> set[str]:
    """Every literal event name passed to an ``emit`` or a broadcaster's ``to_user`` in the package."""
    events: set[str] = set()
    for source in (ROOT / "safestream").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            position = {"emit": 0, "to_user": 1}.get(node.func.attr)
            if position is not None and len(node.args) > position:
                arg = node.args[position]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    events.add(arg.value)
    return events


def test_every_socket_event_is_documented() -> None:
    client, server = _client_events(), _server_events()
    assert {"join", "chat", "leave"} <= client and {"chat", "presence", "kicked"} <= server  # the scan sees them
    missing = sorted(e for e in client | server if f"`{e}`" not in DOC)
    assert not missing, f"socket events missing from docs/PROTOCOL.md: {missing}"


def test_readme_and_docs_page_link_the_protocol() -> None:
    assert "docs/PROTOCOL.md" in (ROOT / "README.md").read_text("utf-8")
    assert 'href="/docs/protocol"' in (ROOT / "templates" / "docs.html").read_text("utf-8")
