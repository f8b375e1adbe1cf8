"""SafeStream: live-stream chat with built-in moderation."""

__version__ = "0.1.0"
