"""Settings read from the environment into a fresh, validated object.

Nothing here runs at import time: ``Settings.from_env()`` is called by the CLI
(or a test) and the result is handed to ``create_app``. Invalid values fail
start-up with a message naming the variable.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from safestream.auth.oidc_settings import OidcSettings
from safestream.errors import ConfigError
from safestream.settings_env import ENV_TABLE, ENV_VARIABLES

__all__ = ["DEFAULT_JWT_SECRET", "ENV_VARIABLES", "MIN_SECRET_LENGTH", "Settings"]

# The original design shipped this secret; it never signs tokens (development
# without JWT_SECRET_KEY uses a generated per-install secret: install_secret.py).
DEFAULT_JWT_SECRET = "your-secret-key-change-in-production"
MIN_SECRET_LENGTH = 32

T = TypeVar("T")


#: The flush window's upper bound: beyond it a busy chat would feel laggy.
MAX_FLUSH_WINDOW_MS = 25.0


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = True
    data_dir: Path = Path("data")
    log_dir: Path = Path("logs")
    database_url: str = ""
    redis_url: str = ""
    redis_prefix: str = "ss"
    #: Empty: development generates and keeps a per-install secret; production refuses to start.
    jwt_secret_key: str = ""
    jwt_expire_minutes: int = 60
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    gift_interval_secs: float = 15.0
    toxic_threshold: float = 0.7
    disable_detoxify: bool = False
    moderation: str = "default"
    moderation_queue_size: int = 5000
    moderation_timeout_secs: float = 5.0
    moderation_failure_action: str = "hold"
    #: None (unset): int8 where it has its own heads (the sentence stage on ONNX Runtime), fp32 elsewhere.
    transformer_int8: bool | None = None
    transformer_max_tokens: int = 128
    #: The sentence encoder's runtime: auto (ONNX Runtime when installed), onnx or torch.
    transformer_runtime: str = "auto"
    #: "band": the sentence stage reads what the cheap stages and the router flag, in every room, so a
    #: text gets the same verdict whatever the load (and as `safestream moderate` gives it); it halves
    #: the server CPU of a moderate room against "auto" (load/README.md, "Cascade A/B").
    cascade: str = "band"
    cascade_band: tuple[float, ...] = (0.15, 0.85)
    max_connections: int = 10000
    max_connections_per_ip: int = 50
    max_sockets_per_user: int = 10
    max_socket_queue: int = 500
    max_pending_per_ip: int = 20
    auth_timeout_secs: float = 5.0
    shutdown_grace_secs: float = 9.0
    operator_token: str = ""
    login_attempts_per_ip: int = 30
    login_failures_per_account: int = 10
    login_failure_sources_per_account: int = 100
    registrations_per_ip: int = 10
    trusted_proxies: tuple[str, ...] = ()
    max_username_length: int = 50
    max_message_length: int = 500
    rate_limit_per_user: int = 20
    rate_limit_window_secs: float = 10.0
    cleanup_interval: float = 60.0
    history_size: int = 50
    joins_per_window: int = 10
    replay_budget: int = 2000
    gifts_per_window: int = 5
    nudges_per_window: int = 10
    bulk_undo_secs: float = 900.0
    mail_backend: str = "log"
    max_live_streams_per_owner: int = 5
    review_expiry_secs: float = 86400.0
    write_queue_size: int = 20000
    flush_interval_ms: int = 200
    default_stream: str = "main"
    cors_origins: tuple[str, ...] = ()
    ws_compression: bool = False
    #: A busy stream's chat frames are gathered for at most this long (0: every batch at once).
    chat_flush_window_ms: float = 25.0
    #: Frame-recipients a second one stream's chat may cost before it waits for the window (0: always wait).
    chat_frame_budget: int = 20000
    #: ``direct``: room chat frames go straight onto each socket's queue (``socketio``: the reference path).
    fanout: str = "direct"
    #: ``gc.collect(); gc.freeze()`` once the server has started: full collections stop rescanning start-up objects.
    gc_freeze: bool = True
    #: gen-0 threshold for ``gc.set_threshold`` (0: Python's default).
    gc_threshold: int = 0
    #: ``sys.setswitchinterval`` in ms for ``safestream serve`` (0: Python's default, 5 ms).
    switch_interval_ms: float = 1.0
    transports: tuple[str, ...] = ("polling", "websocket")
    reuse_port: bool = False
    #: The listening socket's accept queue. After a restart every client reconnects at once;
    #: aiohttp's default (128) overflowed and the kernel dropped their SYNs, which the clients
    #: then resent only after 1, 3, 7, 15 s. The kernel caps it at net.core.somaxconn.
    listen_backlog: int = 4096
    json_codec: str = "orjson"
    uvloop: bool = True
    log_level: str = "INFO"
    jsonl_max_bytes: int = 10 * 1024 * 1024
    jsonl_backups: int = 10
    #: Sign-in through an OpenID Connect provider (``SAFESTREAM_OIDC_*``); off by default.
    oidc: OidcSettings = dataclasses.field(default_factory=OidcSettings)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def seed_demo(self) -> bool:
        """Demo accounts have published passwords: never seeded in production."""
        return self.demo and not self.production

    @property
    def effective_log_dir(self) -> Path:
        """``log_dir`` with ``{host}`` replaced: replicas sharing a volume keep separate logs."""
        return Path(str(self.log_dir).replace("{host}", socket.gethostname()))

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL; SQLite under ``data_dir`` by default."""
        url = self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'safestream.db').resolve()}"
        for plain, asyncdrv in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return asyncdrv + url[len(plain) :]
        return url

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes).validated()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        errors: list[str] = []

        def read(var: str, attr: str, parse: Callable[[str], T]) -> None:
            raw = env.get(var)
            if raw is None or raw == "":
                return
            try:
                values[attr] = parse(raw)
            except ValueError as exc:
                errors.append(f"{var}: {exc}")

        for var, attr, parse in ENV_TABLE:
            read(var, attr, parse)
        try:
            values["oidc"] = OidcSettings.from_env(env)
        except ValueError as exc:
            errors.append(str(exc))
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
        return cls(**values).validated()

    def validated(self) -> Settings:
        problems: list[str] = []
        if self.env not in {"development", "production", "test"}:
            problems.append("SAFESTREAM_ENV must be development, production or test")
        if self.production:
            if not self.jwt_secret_key:
                problems.append("JWT_SECRET_KEY is not set; set a random secret of 32+ characters")
            elif self.jwt_secret_key == DEFAULT_JWT_SECRET:
                problems.append("JWT_SECRET_KEY is the published default; set a random secret")
            elif len(self.jwt_secret_key) < MIN_SECRET_LENGTH:
                problems.append(f"JWT_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production")
        checks: list[tuple[bool, str]] = [
            (1 <= self.port <= 65535, "APP_PORT must be between 1 and 65535"),
            (self.jwt_expire_minutes > 0, "JWT_EXPIRE_MINUTES must be positive"),
            (self.gift_interval_secs > 0, "GIFT_INTERVAL_SECS must be positive"),
            (0.0 < self.toxic_threshold <= 1.0, "TOXIC_THRESHOLD must be in (0, 1]"),
            (self.max_connections > 0, "MAX_CONNECTIONS must be positive"),
            (
                min(
                    self.max_connections_per_ip,
                    self.max_sockets_per_user,
                    self.max_socket_queue,
                    self.login_attempts_per_ip,
                    self.login_failures_per_account,
                    self.registrations_per_ip,
                    self.login_failure_sources_per_account,
                )
                > 0,
                "connection, queue and login limits must be positive",
            ),
            (self.max_pending_per_ip > 0, "SAFESTREAM_MAX_PENDING_PER_IP must be positive"),
            (0 < self.auth_timeout_secs <= 300, "SAFESTREAM_AUTH_TIMEOUT_SECS must be in (0, 300]"),
            (2 <= self.shutdown_grace_secs <= 300, "SAFESTREAM_SHUTDOWN_GRACE_SECS must be in [2, 300]"),
            (
                not self.operator_token or len(self.operator_token) >= 16,
                "SAFESTREAM_OPERATOR_TOKEN must have at least 16 characters",
            ),
            (1 <= self.max_username_length <= 50, "MAX_USERNAME_LENGTH must be between 1 and 50"),
            (1 <= self.max_message_length <= 10000, "SAFESTREAM_MAX_MESSAGE_LENGTH must be between 1 and 10000"),
            (self.rate_limit_per_user > 0, "SAFESTREAM_RATE_LIMIT_PER_USER must be positive"),
            (self.cleanup_interval > 0, "CLEANUP_INTERVAL must be positive"),
            (0 <= self.history_size <= 1000, "SAFESTREAM_HISTORY_SIZE must be between 0 and 1000"),
            (
                min(
                    self.joins_per_window,
                    self.replay_budget,
                    self.gifts_per_window,
                    self.nudges_per_window,
                    self.max_live_streams_per_owner,
                )
                > 0,
                "SAFESTREAM_JOIN_RATE_LIMIT, _REPLAY_BUDGET, _GIFT_RATE_LIMIT and _MAX_LIVE_STREAMS must be positive",
            ),
            (self.review_expiry_secs >= 0, "SAFESTREAM_REVIEW_EXPIRY_SECS must be 0 (never) or positive"),
            (self.write_queue_size >= 100, "SAFESTREAM_WRITE_QUEUE_SIZE must be at least 100"),
            (self.flush_interval_ms > 0, "SAFESTREAM_FLUSH_INTERVAL_MS must be positive"),
            (self.moderation_queue_size > 0, "SAFESTREAM_MODERATION_QUEUE_SIZE must be positive"),
            (
                0 <= self.chat_flush_window_ms <= MAX_FLUSH_WINDOW_MS,
                f"SAFESTREAM_CHAT_FLUSH_WINDOW_MS must be between 0 and {MAX_FLUSH_WINDOW_MS:g}",
            ),
            (self.chat_frame_budget >= 0, "SAFESTREAM_CHAT_FRAME_BUDGET must be 0 or more"),
            (self.fanout in {"direct", "queue", "socketio"}, "SAFESTREAM_FANOUT must be direct, queue or socketio"),
            (self.gc_threshold >= 0, "SAFESTREAM_GC_THRESHOLD must be 0 (default) or positive"),
            (0 <= self.switch_interval_ms <= 100, "SAFESTREAM_SWITCH_INTERVAL_MS must be between 0 and 100"),
            (self.listen_backlog > 0, "SAFESTREAM_LISTEN_BACKLOG must be positive"),
            (self.moderation_timeout_secs > 0, "SAFESTREAM_MODERATION_TIMEOUT_SECS must be positive"),
            (
                self.moderation_failure_action in {"allow", "flag", "hold", "block"},
                "SAFESTREAM_MODERATION_FAILURE_ACTION must be allow, flag, hold or block",
            ),
            (
                bool(self.transports) and set(self.transports) <= {"polling", "websocket"},
                "SAFESTREAM_TRANSPORTS must be polling, websocket or both (comma-separated)",
            ),
            (self.json_codec in {"orjson", "json"}, "SAFESTREAM_JSON must be orjson or json"),
            (self.cascade in {"auto", "band", "all"}, "SAFESTREAM_CASCADE must be auto, band or all"),
            (
                len(self.cascade_band) == 2 and 0.0 <= self.cascade_band[0] <= self.cascade_band[1] <= 1.0,
                "SAFESTREAM_CASCADE_BAND must be two numbers LOW,HIGH with 0 <= LOW <= HIGH <= 1",
            ),
            (8 <= self.transformer_max_tokens <= 512, "SAFESTREAM_TRANSFORMER_MAX_TOKENS must be 8..512"),
            (
                self.transformer_runtime in {"auto", "onnx", "torch"},
                "SAFESTREAM_TRANSFORMER_RUNTIME must be auto, onnx or torch",
            ),
            (
                self.argon2_time_cost >= 1 and self.argon2_memory_kib >= 8,
                "SAFESTREAM_ARGON2_TIME_COST >= 1 and SAFESTREAM_ARGON2_MEMORY_KIB >= 8",
            ),
        ]
        problems += [message for ok, message in checks if not ok]
        problems += self.oidc.problems(production=self.production)
        url = self.effective_database_url
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            problems.append("DATABASE_URL must be sqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                problems.append(f"SAFESTREAM_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
        if problems:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
        return self
