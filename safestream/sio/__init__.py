"""Socket.IO transport: the server and its tuning, the JSON codec, the Redis client manager,
connections, the slow-consumer watchdog, and the namespace (the socket event handlers).

The namespace sits with the HTTP handlers at the top (it calls the chat
services); everything else here sits below the chat services, which use it.
"""
