"""The moderator console: server-rendered pages and fragments, live over Socket.IO."""
