"""Console URL map."""

from __future__ import annotations

from aiohttp import web

from safestream.console import actions, policy_editor, streams, user_panel, views


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console", views.home)
    r.add_get("/console/login", views.login_page)
    r.add_post("/console/login", actions.login)
    r.add_post("/console/logout", actions.logout)
    r.add_get("/console/streams", streams.stream_list)
    r.add_post("/console/streams", streams.go_live)
    r.add_get("/console/s/{stream}", views.dashboard)
    r.add_get("/console/s/{stream}/stream_card", streams.stream_card)
    r.add_post("/console/s/{stream}/end", streams.end_stream)
    r.add_post("/console/s/{stream}/title", streams.retitle)
    r.add_get("/console/s/{stream}/feed", views.feed)
    r.add_get("/console/s/{stream}/export", views.export)
    r.add_get("/console/s/{stream}/users/{username}/panel", user_panel.user_panel)
    r.add_post("/console/s/{stream}/users/{action}", actions.user_action)
    r.add_post("/console/s/{stream}/review/{id}", actions.review_action)
    r.add_post("/console/s/{stream}/messages/{id}/remove", actions.remove_message)
    r.add_post("/console/s/{stream}/policy", actions.save_policy)
    r.add_post("/console/s/{stream}/policy/preview", policy_editor.preview)
    r.add_post("/console/s/{stream}/policy/default", policy_editor.restore_default)
    r.add_post("/console/s/{stream}/reset_metrics", actions.reset_metrics)
    r.add_post("/console/s/{stream}/shield", actions.shield)
    r.add_post("/console/s/{stream}/bulk", actions.bulk_action)
    r.add_post("/console/s/{stream}/bulk/{id}/undo", actions.bulk_undo)
