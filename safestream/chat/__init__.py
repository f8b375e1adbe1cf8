"""Chat: the socket namespace, the send pipeline, rooms and the broadcaster."""
