"""Chat modes and spam rules: the synchronous pre-checks of the send path.

One module per concern (gates, emotes, unique chat, links, mentions, shouting,
shield); ``checker.ModeChecker`` runs them in order for ``chat.pipeline`` and
for the pre-send nudge, so every entry point gets the same verdicts.
"""
