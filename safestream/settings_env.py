"""The environment variables ``Settings.from_env`` reads: name, attribute, parser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from safestream.auth.oidc_settings import ENV_VARIABLES as OIDC_ENV_VARIABLES


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false), got {raw!r}")


def _parse_floats(raw: str) -> tuple[float, ...]:
    return tuple(float(item) for item in raw.split(",") if item.strip())


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


#: (variable, Settings attribute, parser) for every variable ``Settings.from_env`` reads.
ENV_TABLE: list[tuple[str, str, Callable[[str], Any]]] = [
    ("SAFESTREAM_ENV", "env", str.strip),
    ("APP_HOST", "host", str.strip),
    ("APP_PORT", "port", int),
    ("SAFESTREAM_DEMO", "demo", _parse_bool),
    ("SAFESTREAM_DATA_DIR", "data_dir", Path),
    ("SAFESTREAM_LOG_DIR", "log_dir", Path),
    ("DATABASE_URL", "database_url", str.strip),
    ("REDIS_URL", "redis_url", str.strip),
    ("SAFESTREAM_REDIS_PREFIX", "redis_prefix", str.strip),
    ("JWT_SECRET_KEY", "jwt_secret_key", str),
    ("JWT_EXPIRE_MINUTES", "jwt_expire_minutes", int),
    ("SAFESTREAM_ARGON2_TIME_COST", "argon2_time_cost", int),
    ("SAFESTREAM_ARGON2_MEMORY_KIB", "argon2_memory_kib", int),
    ("GIFT_INTERVAL_SECS", "gift_interval_secs", float),
    ("TOXIC_THRESHOLD", "toxic_threshold", float),
    ("DISABLE_DETOXIFY", "disable_detoxify", _parse_bool),
    ("SAFESTREAM_MODERATION", "moderation", str.strip),
    ("SAFESTREAM_MODERATION_QUEUE_SIZE", "moderation_queue_size", int),
    ("SAFESTREAM_MODERATION_TIMEOUT_SECS", "moderation_timeout_secs", float),
    ("SAFESTREAM_MODERATION_FAILURE_ACTION", "moderation_failure_action", str.strip),
    ("SAFESTREAM_TRANSFORMER_INT8", "transformer_int8", _parse_bool),
    ("SAFESTREAM_TRANSFORMER_MAX_TOKENS", "transformer_max_tokens", int),
    ("SAFESTREAM_TRANSFORMER_RUNTIME", "transformer_runtime", str.strip),
    ("SAFESTREAM_CASCADE", "cascade", str.strip),
    ("SAFESTREAM_CASCADE_BAND", "cascade_band", _parse_floats),
    ("MAX_CONNECTIONS", "max_connections", int),
    ("MAX_USERNAME_LENGTH", "max_username_length", int),
    ("SAFESTREAM_MAX_CONNECTIONS_PER_IP", "max_connections_per_ip", int),
    ("SAFESTREAM_MAX_SOCKETS_PER_USER", "max_sockets_per_user", int),
    ("SAFESTREAM_MAX_SOCKET_QUEUE", "max_socket_queue", int),
    ("SAFESTREAM_MAX_PENDING_PER_IP", "max_pending_per_ip", int),
    ("SAFESTREAM_AUTH_TIMEOUT_SECS", "auth_timeout_secs", float),
    ("SAFESTREAM_SHUTDOWN_GRACE_SECS", "shutdown_grace_secs", float),
    ("SAFESTREAM_OPERATOR_TOKEN", "operator_token", str.strip),
    ("SAFESTREAM_LOGIN_ATTEMPTS_PER_IP", "login_attempts_per_ip", int),
    ("SAFESTREAM_LOGIN_FAILURES_PER_ACCOUNT", "login_failures_per_account", int),
    ("SAFESTREAM_LOGIN_FAILURE_SOURCES_PER_ACCOUNT", "login_failure_sources_per_account", int),
    ("SAFESTREAM_REGISTRATIONS_PER_IP", "registrations_per_ip", int),
    ("SAFESTREAM_TRUSTED_PROXIES", "trusted_proxies", _parse_list),
    ("SAFESTREAM_MAX_MESSAGE_LENGTH", "max_message_length", int),
    ("SAFESTREAM_RATE_LIMIT_PER_USER", "rate_limit_per_user", int),
    ("CLEANUP_INTERVAL", "cleanup_interval", float),
    ("SAFESTREAM_HISTORY_SIZE", "history_size", int),
    ("SAFESTREAM_JOIN_RATE_LIMIT", "joins_per_window", int),
    ("SAFESTREAM_REPLAY_BUDGET", "replay_budget", int),
    ("SAFESTREAM_GIFT_RATE_LIMIT", "gifts_per_window", int),
    ("SAFESTREAM_NUDGE_RATE_LIMIT", "nudges_per_window", int),
    ("SAFESTREAM_BULK_UNDO_SECS", "bulk_undo_secs", float),
    ("SAFESTREAM_MAIL_BACKEND", "mail_backend", str.strip),
    ("SAFESTREAM_MAX_LIVE_STREAMS", "max_live_streams_per_owner", int),
    ("SAFESTREAM_REVIEW_EXPIRY_SECS", "review_expiry_secs", float),
    ("SAFESTREAM_WRITE_QUEUE_SIZE", "write_queue_size", int),
    ("SAFESTREAM_FLUSH_INTERVAL_MS", "flush_interval_ms", int),
    ("SAFESTREAM_DEFAULT_STREAM", "default_stream", str.strip),
    ("SAFESTREAM_CORS_ORIGINS", "cors_origins", _parse_list),
    ("SAFESTREAM_LOG_LEVEL", "log_level", str.strip),
    ("SAFESTREAM_WS_COMPRESSION", "ws_compression", _parse_bool),
    ("SAFESTREAM_TRANSPORTS", "transports", _parse_list),
    ("SAFESTREAM_REUSE_PORT", "reuse_port", _parse_bool),
    ("SAFESTREAM_LISTEN_BACKLOG", "listen_backlog", int),
    ("SAFESTREAM_JSON", "json_codec", str.strip),
    ("SAFESTREAM_UVLOOP", "uvloop", _parse_bool),
    ("SAFESTREAM_CHAT_FLUSH_WINDOW_MS", "chat_flush_window_ms", float),
    ("SAFESTREAM_CHAT_FRAME_BUDGET", "chat_frame_budget", int),
    ("SAFESTREAM_FANOUT", "fanout", str.strip),
    ("SAFESTREAM_GC_FREEZE", "gc_freeze", _parse_bool),
    ("SAFESTREAM_GC_THRESHOLD", "gc_threshold", int),
    ("SAFESTREAM_SWITCH_INTERVAL_MS", "switch_interval_ms", float),
]

ENV_VARIABLES: tuple[str, ...] = tuple(var for var, _, _ in ENV_TABLE) + OIDC_ENV_VARIABLES
