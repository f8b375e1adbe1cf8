"""The built-in term lists every policy starts from (blocked stems, and the words that merely contain them)."""

from __future__ import annotations

from safestream.moderation.term_rule import TermRule

# --- the built-in list --------------------------------------------------------------
# Chosen against the Scunthorpe problem: short stems are whole words ("ass",
# "cum", "arse") or prefixes ("cunt*", "wank*"), so "class", "Scunthorpe",
# "swank" and "document" pass. "shit" is a prefix plus listed compounds, not
# "anywhere", because of Japanese names (Matsushita, Yamashita, Kinoshita).
# "dick", "cock", "tit(s)", "prick", "rape", "dyke", "coon", "chink" are NOT
# blocked: they are names, birds, farm animals, plants or everyday words ("Dick
# Smith", "blue tits", "Hancock", "oilseed rape", "a chink in the armour"); the
# ML models judge them in context.
_DEFAULT_ENTRIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "obscene",
        (
            "*fuck*",
            "*fvck*",
            "phuck*",
            "fuk",
            "fukin",
            "fuking",
            "shit*",
            "bullshit*",
            "horseshit*",
            "dipshit*",
            "batshit*",
            "apeshit*",
            "dogshit*",
            "chickenshit*",
            "cunt*",
            "ass",
            "arse",
            "arses",
            "wank*",
            "jizz*",
            "cum",
            "cumshot*",
            "pussy",
            "pussies",
            "titty",
            "titties",
            "bollocks",
            "crap",
            "crappy",
            "piss*",
            "cocksucker*",
        ),
    ),
    (
        "insult",
        (
            "*bitch*",
            "bastard",
            "bastards",
            "slut*",
            "whore*",
            "twat*",
            "asshole*",
            "arsehole*",
            "asshat*",
            "asswipe*",
            "dumbass*",
            "jackass*",
            "dickhead*",
            "dickwad*",
            "douchebag*",
            "scumbag*",
            "retard",
            "retards",
            "retarded",
        ),
    ),
    (
        "identity_attack",
        (
            "nigger*",
            "nigga",
            "niggas",
            "niggaz",
            "fag",
            "fags",
            "faggot*",
            "kike",
            "kikes",
            "spic",
            "spics",
            "tranny",
            "trannies",
            "wetback*",
            "raghead*",
            "towelhead*",
            "gook",
            "gooks",
        ),
    ),
    ("threat", ("kys", "kill yourself", "kill urself")),
)
DEFAULT_BLOCKED: tuple[TermRule, ...] = tuple(
    TermRule.parse(entry, label) for label, entries in _DEFAULT_ENTRIES for entry in entries
)

# Innocent phrases and words that contain a blocked term. Some protect against
# terms a deployment may add ("dick", "dyke", anywhere-"cunt") rather than ours.
DEFAULT_PERMITTED: tuple[TermRule, ...] = tuple(
    TermRule.parse(entry)
    for entry in (
        "cum laude",
        "magna cum laude",
        "summa cum laude",
        "*-cum-*",
        "cum-ex",
        "scunthorpe",
        "penistone",
        "shitake*",
        "shittim*",
        "shitara*",
        "pissarro*",
        "wankel*",
        "slutsk*",
        "pussy willow*",
        "pussy cat*",
        "spic and span",
        "spic n span",
        "dick van dyke",
        "moby dick",
    )
)
