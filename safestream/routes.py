"""Every URL the server answers, in one table: method, path, handler.

Registration order is matching order (aiohttp tries routes in turn), so a
fixed path stays ahead of a pattern that would also match it. The Socket.IO
endpoint (``/socket.io/``) is added by python-socketio itself. docs/PROTOCOL.md
documents each of these routes (tests/test_protocol_doc.py checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from safestream.api import admin, moderation, modes, pages, status, streams
from safestream.auth import oidc_routes as oidc
from safestream.auth import routes as auth
from safestream.console import forms, policy_editor, sign_in, user_panel, views
from safestream.console import stream_controls as console_streams
from safestream.gifts import routes as gifts
from safestream.resources import shipped

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROUTES: list[tuple[str, str, Handler]] = [
    # accounts
    ("POST", "/auth/register", auth.register),
    ("POST", "/auth/login", auth.login),
    ("POST", "/auth/logout", auth.logout),
    ("POST", "/auth/password", auth.change_password),
    ("GET", "/auth/me", auth.me),
    ("POST", "/auth/verify-email/request", auth.request_verification),
    ("POST", "/auth/verify-email", auth.confirm_verification),
    ("GET", "/auth/oidc/start", oidc.start),
    ("GET", "/auth/oidc/callback", oidc.callback),
    ("POST", "/auth/oidc/token", oidc.token),
    # streams
    ("GET", "/streams", streams.list_streams),
    ("POST", "/api/streams", streams.open_stream),
    ("POST", "/api/streams/{stream}/end", streams.end_stream),
    ("PATCH", "/api/streams/{stream}", streams.retitle_stream),
    # gifts
    ("POST", "/api/gift", gifts.send_gift),
    ("GET", "/api/gifts", gifts.list_gifts),
    # moderator and admin actions
    ("POST", "/api/admin/kick", admin.kick),
    ("POST", "/api/admin/mute", admin.mute),
    ("POST", "/api/admin/unmute", admin.unmute),
    ("POST", "/api/admin/ban", admin.ban),
    ("POST", "/api/admin/unban", admin.unban),
    ("POST", "/api/admin/remove", admin.remove),
    ("POST", "/api/admin/reset_metrics", admin.reset_metrics),
    ("POST", "/api/admin/role", admin.set_role),
    ("POST", "/api/admin/delete_user", admin.delete_user),
    # policies, review, chat modes
    ("GET", "/api/streams/{stream}/policy", moderation.get_policy),
    ("PUT", "/api/streams/{stream}/policy", moderation.put_policy),
    ("GET", "/api/streams/{stream}/review", moderation.list_review),
    ("POST", "/api/streams/{stream}/review/{id}", moderation.decide_review),
    ("POST", "/api/streams/{stream}/shield", modes.shield),
    ("POST", "/api/streams/{stream}/bulk", modes.bulk_action),
    ("POST", "/api/streams/{stream}/bulk/{id}/undo", modes.undo_bulk),
    # status and docs
    ("GET", "/metrics", status.metrics),
    ("GET", "/healthz", status.healthz),
    ("GET", "/readyz", status.readyz),
    ("GET", "/openapi.json", status.openapi_json),
    ("GET", "/docs", status.docs_page),
    # pages
    ("GET", "/favicon.ico", pages.favicon),
    ("GET", "/docs/protocol", pages.protocol),
    ("GET", "/chat", pages.chat_home),
    ("GET", "/chat/{stream}", pages.chat_stream),
    # the moderator console (HTML and HTMX fragments)
    ("GET", "/console", views.home),
    ("GET", "/console/login", views.login_page),
    ("POST", "/console/login", sign_in.login),
    ("POST", "/console/logout", sign_in.logout),
    ("GET", "/console/streams", console_streams.stream_list),
    ("POST", "/console/streams", console_streams.go_live),
    ("GET", "/console/s/{stream}", views.dashboard),
    ("GET", "/console/s/{stream}/stream_card", console_streams.stream_card),
    ("POST", "/console/s/{stream}/end", console_streams.end_stream),
    ("POST", "/console/s/{stream}/title", console_streams.retitle),
    ("GET", "/console/s/{stream}/feed", views.feed),
    ("GET", "/console/s/{stream}/export", views.export),
    ("GET", "/console/s/{stream}/users/{username}/panel", user_panel.user_panel),
    ("POST", "/console/s/{stream}/users/{action}", forms.user_action),
    ("POST", "/console/s/{stream}/review/{id}", forms.review_action),
    ("POST", "/console/s/{stream}/messages/{id}/remove", forms.remove_message),
    ("POST", "/console/s/{stream}/policy", forms.save_policy),
    ("POST", "/console/s/{stream}/policy/preview", policy_editor.preview),
    ("POST", "/console/s/{stream}/policy/default", policy_editor.restore_default),
    ("POST", "/console/s/{stream}/reset_metrics", forms.reset_metrics),
    ("POST", "/console/s/{stream}/shield", forms.shield),
    ("POST", "/console/s/{stream}/bulk", forms.bulk_action),
    ("POST", "/console/s/{stream}/bulk/{id}/undo", forms.bulk_undo),
    ("GET", "/", pages.index),
]


def add_routes(app: web.Application) -> None:
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_static("/static", shipped("static"), name="static")
