"""Write data/moderation/own/cases.csv: the labelled examples we wrote ourselves.

Functional cases in the spirit of a hate-speech test taxonomy (direct and
implicit identity attacks, threats without profanity, insults, negation,
counter-speech, quoting hate to denounce it, neutral statements about groups,
profanity that is not abuse) and innocent chat that looks bad to a word list
(names of people and places, Latin, food and drink, games, gaming praise).
Every sentence and template here was written for SafeStream (licence: the
project's MIT licence). Deterministic: rerunning writes the same file.

Columns: text, then one column per label with 1, 0 or empty (no opinion:
that row does not train that label's head).
"""

from __future__ import annotations

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "moderation" / "own" / "cases.csv"
LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")

GROUPS = [
    "women",
    "immigrants",
    "muslims",
    "jews",
    "black people",
    "gay people",
    "trans people",
    "disabled people",
    "asians",
    "refugees",
    "mexicans",
    "christians",
    "arabs",
    "old people",
]

IDENTITY_ATTACKS = [
    "{g} should not be allowed to vote",
    "{g} are too emotional to lead",
    "{g} are a disease on this country",
    "i can't stand {g}, they ruin everything",
    "{g} are all criminals",
    "{g} don't belong in this country",
    "{g} are less than human",
    "{g} should go back where they came from",
    "i would never hire {g}",
    "{g} are parasites living off the rest of us",
    "we need to get rid of all {g}",
    "{g} are too stupid to work",
    "the world would be better without {g}",
    "never trust {g}, they are all liars",
    "{g} are filthy animals",
    "it is disgusting that {g} are allowed in public",
    "{g} should be kept out of our schools",
    "{g} are born inferior",
]
THREATS = [
    "i will find where you live and make you pay",
    "i am going to hurt you badly",
    "watch your back tonight",
    "i know your address and i am coming for you",
    "you will not survive the next stream",
    "i'm going to kill you",
    "someone should put a bullet in you",
    "i will break every bone in your body",
    "keep talking and i'll burn your house down",
    "you deserve to be beaten until you stop breathing",
    "i'm going to wait outside your house",
    "your family will regret this when i find them",
    "i hope you get run over tomorrow",
    "i will make sure you never walk again",
]
GROUP_THREATS = [
    "someone should shoot all {g}",
    "{g} deserve to be hanged",
    "let's burn down the homes of {g}",
    "all {g} should be wiped out",
]
INSULTS = [
    "idiot",
    "moron",
    "loser",
    "clown",
    "imbecile",
    "waste of space",
    "pathetic failure",
    "joke",
    "worthless creep",
    "brainless fool",
    "disgrace",
    "nobody",
]
INSULT_TEMPLATES = [
    "you are a {i}",
    "you're such a {i}",
    "shut up you {i}",
    "nobody likes you, you {i}",
    "go away you {i}",
    "what a {i} you are",
    "the streamer is a {i}",
    "you are the dumbest {i} i have ever seen",
]
PLAIN_INSULTS = [
    "you are so ugly it hurts to look at you",
    "your voice makes me want to throw up",
    "you're too stupid to play this game",
    "nobody would miss you if you left",
    "you have the brain of a rock",
    "everyone here thinks you are pathetic",
    "you should quit, you are embarrassing",
    "go cry to your mommy, baby",
]
PROFANE_INSULTS = [
    "fuck you, you worthless idiot",
    "shut the fuck up you moron",
    "you're a piece of shit",
    "go to hell you stupid bitch",
    "you dumbass, learn to play",
    "eat shit and die, loser",
]
STEREOTYPES = [
    "{g} control the media",
    "{g} are terrorists",
    "{g} are all thieves",
    "{g} are ruining our country",
    "{g} are lazy and live on handouts",
    "{g} can't be trusted with money",
    "{g} are a plague",
    "{g} are ugly and smell",
    "i hate {g}",
    "{g} are scum",
    "{g} are vermin",
    "get {g} out of here",
    "{g} are a burden on society",
    "we don't want {g} in our neighbourhood",
]
SWEARS = ["fuck yeah", "holy shit", "damn", "hell yeah", "shit", "oh fuck", "fucking hell", "holy crap", "goddamn"]
HAPPY = [
    "that was amazing",
    "we won",
    "nice shot",
    "what a play",
    "i love this song",
    "gg",
    "this is so good",
    "finally",
    "that was close",
    "best stream ever",
]
PRAISE = [
    "you killed that boss",
    "you murdered that round",
    "you destroyed the other team",
    "you slayed that song",
    "you wrecked them",
    "you crushed it today",
    "you're a beast at this",
    "you're a monster on the keys",
    "you are too good, it's unfair",
    "you absolutely smashed it",
    "that was filthy, well played",
    "sick shot, you animal",
    "you're insane, how did you hit that",
    "you ended his whole career with that play",
    "you murdered that song, wow",
]
NEGATION = [
    "{g} are not inferior to anyone",
    "i don't think {g} are stupid",
    "no one should say {g} are a disease",
    "{g} are not criminals",
    "i would never say {g} should lose their rights",
    "{g} belong here as much as anyone",
]
COUNTER = [
    "saying that {g} are criminals is hateful and wrong",
    "stop saying {g} don't belong here",
    "if you think {g} are less than human, you need to educate yourself",
    "he said '{g} should not vote' and got banned, good",
    "quoting that post about {g} because it is vile",
    "calling {g} animals is disgusting and we will not allow it here",
]
NEUTRAL_GROUPS = [
    "{g} have the right to vote",
    "many {g} live in my city",
    "i love my neighbours, they are {g}",
    "there was a documentary about {g} last night",
    "{g} deserve respect like everyone",
    "the conference had talks by {g}",
    "my best friends are {g}",
    "{g} have made huge contributions",
]
PROFANITY_NOT_ABUSE = [
    "holy shit what a play",
    "fuck yeah we won",
    "this song is fucking amazing",
    "damn that was close",
    "that boss fight was hard as hell",
    "shit, i forgot to hit record",
    "what the fuck was that jump, incredible",
    "oh crap the lag again",
    "fucking finally we beat the level",
    "hell yes, clutch round",
    "that combo was badass",
    "i'm so fucking tired today lol",
    "bullshit rng, i had that",
    "holy fuck the graphics are gorgeous",
    "damn son, nice aim",
]
INNOCENT = [
    "i grew up in scunthorpe",
    "the train stops at penistone",
    "we drove through middlesex and essex",
    "my cousin lives in sussex",
    "dick van dyke was great in that film",
    "arsenal won again tonight",
    "she graduated magna cum laude",
    "he finished summa cum laude",
    "the shiitake mushrooms are fresh",
    "grandma made spotted dick for dessert",
    "i'll have a cocktail after the stream",
    "assassin's creed is on sale",
    "reading charles dickens tonight",
    "matt hancock was on the news",
    "my therapist says hi",
    "the bass on this track is huge",
    "a classic passage from the classics",
    "the hoe is in the garden shed",
    "i need a new cock for the water tank, plumbing is fun",
    "the sea bass was delicious",
    "that was a sick play",
    "you killed it this round",
    "he's an absolute beast",
    "you destroyed them, gg",
    "i'm dead lol that was hilarious",
    "you're insane at this game",
    "nasty clip, send it to me",
    "filthy flick, well played",
    "you're a monster with that sniper",
    "kill the boss first, then loot",
    "clean headshot",
    "you smashed it, ggs",
    "that was murder, what a round",
    "you absolute legend",
    "you are amazing, thanks for the stream",
    "you're so good at this",
    "shoot the barrels to win",
    "i'm going to kill this boss tonight",
    "let's execute the plan on b site",
    "we got slaughtered lol gg",
    "lol that was so bad it was funny",
    "my team is trash today haha",
    "this map is the worst",
    "carpe diem, friends",
    "veni vidi vici",
    "habemus papam",
    "cogito ergo sum",
    "dulce et decorum est",
    "beaver creek resort was lovely",
    "the titmouse came to the feeder",
    "booby birds live in the tropics",
    "hello everyone",
    "what's the song name?",
    "gg wp",
    "first time here, love the vibe",
    "see you tomorrow",
]

# Exclusion from rights or places and dehumanising or criminalising
# generalisations, over many more kinds of group (nationality, immigration
# status, religion, ethnicity, gender, sexuality, disability, age), each paired
# with near-misses that share its words: counter-speech, negation, neutral
# facts, and the same predicates about people who are not a protected group
# ("cheaters should not be allowed to play ranked"). Written after the heads
# let "immigrants should not be allowed to vote" through at 0.69.
MORE_GROUPS = [
    "migrants",
    "foreigners",
    "asylum seekers",
    "polish people",
    "romanians",
    "chinese people",
    "indians",
    "pakistanis",
    "nigerians",
    "africans",
    "roma",
    "hindus",
    "sikhs",
    "catholics",
    "atheists",
    "latinos",
    "white people",
    "men",
    "lesbians",
    "bisexual people",
    "gay men",
    "autistic people",
    "blind people",
    "deaf people",
    "wheelchair users",
    "mentally ill people",
    "elderly people",
    "pensioners",
    "turks",
    "syrians",
]
ALL_GROUPS = GROUPS + MORE_GROUPS
EXCLUSION = [
    "{g} should not be allowed to vote",
    "{g} shouldn't be allowed to work here",
    "{g} should not be allowed to live here",
    "{g} should not be allowed to marry",
    "{g} should be banned from voting",
    "{g} should never be allowed to hold office",
    "{g} should not have the right to vote",
    "take the vote away from {g}",
    "{g} should not be allowed in our country",
    "{g} should not be allowed to own property",
    "{g} should be banned from our town",
    "keep {g} out of our neighbourhood",
    "{g} should not be allowed to adopt children",
    "{g} should not be allowed to teach our kids",
    "{g} should lose their citizenship",
    "{g} don't deserve the same rights as us",
    "{g} have no business voting",
    "{g} should not be allowed to rent a flat here",
    "no jobs for {g}",
    "{g} must never be allowed near our children",
]
DEHUMANISING = [
    "{g} are criminals",
    "{g} are animals",
    "{g} are a disease",
    "{g} are rats",
    "{g} are a cancer on society",
    "{g} are subhuman",
    "{g} are cockroaches",
    "{g} are savages",
    "{g} are born criminals",
    "{g} bring crime and disease",
    "{g} are an infestation",
    "{g} spread like a virus",
    "{g} are dangerous and should be locked up",
    "{g} are nothing but thieves and thugs",
    "every one of {g} is a criminal",
    "{g} are dirty animals who breed like rabbits",
]
NEAR_MISS_GROUPS = [
    "saying {g} are criminals is racist",
    "saying {g} should not be allowed to vote is bigotry",
    "it is wrong to call {g} animals",
    "people who call {g} a disease are the problem",
    "the idea that {g} should not vote is disgusting",
    "reported a guy for saying {g} are criminals",
    "{g} are not criminals, stop spreading lies",
    "{g} should be allowed to vote like everyone else",
    "{g} should not be denied the right to vote",
    "{g} should not be treated like criminals",
    "{g} should not be afraid to live here",
    "nobody should be allowed to insult {g} in this chat",
    "{g} can vote in local elections",
    "many {g} work in hospitals",
    "{g} live all over this country",
    "a new report looks at how {g} vote",
    "the law protects {g} from discrimination",
    "{g} have the same rights as everyone",
    "{g} are more often victims of crime than criminals",
    "my neighbours are {g} and they are lovely",
    "{g} have been allowed to marry here for years",
    "the history of {g} in this city is fascinating",
    "{g} should be welcome here",
    "some {g} were on the panel about voting rights",
]
NEAR_MISS_OTHERS = [
    "immigrants can vote after naturalisation",
    "kids under 18 should not be allowed to vote",
    "cheaters should not be allowed to play ranked",
    "drunk drivers should not be allowed to drive",
    "bots should not be allowed in chat",
    "spammers should be banned from chat",
    "smurfs should not be allowed in low ranks",
    "dogs are not allowed on the sofa",
    "phones should not be allowed in the cinema",
    "people who steal are criminals",
    "the bank robbers in that film are criminals",
    "those scammers are criminals",
    "wolves are wild animals",
    "cats are lazy animals and i love them",
    "the flu is a disease",
    "hackers should not be allowed to stream",
    "toxic players should be banned from ranked",
    "people without a licence should not be allowed to drive",
    "pineapple should not be allowed on pizza",
    "spoilers should not be allowed in chat",
    "mods should be allowed to time out spammers",
    "squirrels are animals, they ate my tomatoes",
    "mosquitoes spread disease",
    "my cat is a criminal, she stole my sandwich",
    "campers should not be allowed on this map",
    "rats got into the garage again",
    "the virus spread fast in the game's story mode",
    "tourists are not allowed to drive here without a permit",
    "you must be 18 to vote here",
    "non-members should not be allowed in the clubhouse",
    "players under level 10 can't join ranked",
    "the villain's minions are savages in this game",
    "that boss is an animal, took me ten tries",
    "this raid is a disease, i can't stop playing",
    "lag should be a crime",
    "subs should be allowed to vote on the next game",
    "everyone should be allowed to vote in the poll",
    "only subscribers can vote in the poll",
    "guests are not allowed backstage",
    "teams that cheat should lose their titles",
]

# Short chat (1-6 words), where a sentence model has little context and the
# heads flagged innocent lines ("ok, calm now", "reg one"). Innocent and
# abusive short lines are both here, with the same prefixes, so "short" is not
# a cue for either side.
SHORT_INNOCENT = [
    "ok, calm now",
    "haha that comeback looks great",
    "reg one",
    "reg one pls",
    "reg 1",
    "ranked one",
    "one more",
    "one more game",
    "next one",
    "this one",
    "that one",
    "one sec",
    "lol",
    "lmao",
    "haha",
    "xd",
    "ok",
    "ok ok",
    "k",
    "kk",
    "nice",
    "gg",
    "ggwp",
    "gl hf",
    "wp",
    "ty",
    "thx",
    "np",
    "brb",
    "back",
    "same",
    "true",
    "fair",
    "bet",
    "real",
    "mood",
    "rip",
    "f in chat",
    "o7",
    "omg",
    "wow",
    "wow that's wild",
    "no way",
    "no shot",
    "sheesh",
    "we're so back",
    "it's over",
    "wait what",
    "first",
    "hydrate",
    "hi chat",
    "hey",
    "yo",
    "sup",
    "good luck",
    "calm",
    "calm down guys, it's fine",
    "stay calm",
    "chill chat",
    "relax everyone",
    "hmm",
    "yep",
    "nope",
    "maybe",
    "idk",
    "big if true",
    "looks great",
    "that looks great",
    "comeback time",
    "the comeback is real",
    "huge comeback",
    "what a comeback",
    "clean",
    "so clean",
    "let's go",
    "lets goooo",
    "pog",
    "ez",
    "close one",
    "unlucky",
    "so close",
    "go go go",
    "push b",
    "rotate",
    "nerf this",
    "buff pls",
    "lag",
    "frame drop",
    "audio is low",
    "can't hear you",
    "you're muted",
    "your mic is off",
    "turn up your mic",
    "you look tired today",
    "you were right",
    "you got this",
    "you're back",
    "are you ok",
    "you did it",
    "your aim is crazy",
    "your setup looks great",
    "ur stream is the best",
    "u r the best",
    "you're funny",
    "you're so fast",
    "your cat is cute",
    "you dropped this",
    "your turn",
    "ur up next",
    "u ok?",
    "did you eat",
    "calm now",
    "now calm",
    "regular one",
    "the reg one is fine",
    "he's back",
    "she's cooking",
    "cooking",
    "cooked lol",
    "that was rough",
    "rough game",
    "tough luck",
    "bad luck",
    "my bad",
    "oops",
    "whoops",
    "again",
    "again pls",
    "play that again",
    "replay",
    "clip it",
    "clip that",
    "so good",
    "too good",
    "insane",
    "crazy",
    "wild",
    "mad play",
    "nuts",
    "lit",
    "fire",
    "this slaps",
    "banger",
    "vibes",
    "cozy stream",
    "love it",
    "love this",
    "cute",
    "aww",
    "hello from spain",
    "good morning",
    "good night",
    "night all",
    "see ya",
    "bye",
    "later",
    "peace",
    "cheers",
    "congrats",
    "happy birthday",
    "welcome back",
]
SHORT_ABUSE = [
    "you suck",
    "idiot",
    "stfu",
    "kys",
    "loser",
    "ur trash",
    "you're trash",
    "ur a clown",
    "u r dumb",
    "you are dumb",
    "moron",
    "dumbass",
    "get lost loser",
    "trash streamer",
    "you stink",
    "ugly",
    "fat pig",
    "worthless",
    "pathetic",
    "clown",
    "uninstall loser",
    "you're garbage",
    "ur so stupid",
    "brainless",
    "shut up idiot",
    "nobody likes you",
    "ur ugly",
    "u suck",
    "you're pathetic",
    "stupid",
    "imbecile",
    "you're a joke",
    "freak",
    "creep",
    "go cry loser",
    "ur mom is ugly",
    "dumb streamer",
    "total moron",
]
SHORT_THREATS = [
    "kill yourself",
    "go die",
    "hope you die",
    "i'll kill you",
    "you're dead",
    "i will hurt you",
    "drink bleach",
    "i'll find you",
]
SHORT_PREFIXES = ["", "lol ", "ok, ", "haha ", "omg "]


def rows() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(text: str, **labels: int | None) -> None:  # None: no opinion
        out.append({"text": text, **{k: "" if labels.get(k) is None else str(labels[k]) for k in LABELS}})

    clean = dict.fromkeys(LABELS, 0)
    for template in IDENTITY_ATTACKS:
        for group in GROUPS:
            add(
                template.format(g=group),
                toxicity=1,
                identity_attack=1,
                threat=0,
                obscene=0,
                insult=None,
                severe_toxicity=None,
            )
    for text in THREATS:
        add(text, toxicity=1, severe_toxicity=1, threat=1, identity_attack=0, obscene=0, insult=None)
    for template in GROUP_THREATS:
        for group in GROUPS:
            add(template.format(g=group), toxicity=1, severe_toxicity=1, threat=1, identity_attack=1, obscene=0)
    for template in INSULT_TEMPLATES:
        for insult in INSULTS:
            add(
                template.format(i=insult),
                toxicity=1,
                insult=1,
                threat=0,
                identity_attack=0,
                obscene=0,
                severe_toxicity=0,
            )
    for text in PLAIN_INSULTS:
        add(text, toxicity=1, insult=1, threat=0, identity_attack=0, obscene=0, severe_toxicity=0)
    for text in PROFANE_INSULTS:
        add(text, toxicity=1, insult=1, obscene=1, threat=0, identity_attack=0)
    for template in STEREOTYPES:
        for group in GROUPS:
            add(
                template.format(g=group),
                toxicity=1,
                identity_attack=1,
                threat=0,
                obscene=None,
                insult=None,
                severe_toxicity=None,
            )
    for swear in SWEARS:
        for happy in HAPPY:
            add(f"{swear} {happy}", **{**clean, "obscene": 1})
    for text in PRAISE:
        add(text, **clean)
    for template in NEGATION + COUNTER + NEUTRAL_GROUPS:
        for group in GROUPS:
            add(template.format(g=group), **clean)
    for text in PROFANITY_NOT_ABUSE:
        add(text, **{**clean, "obscene": 1})
    for text in INNOCENT:
        add(text, **clean)
    seen = {row["text"] for row in out}  # "ok, " + "calm now" is also listed whole: one row each
    for prefix in SHORT_PREFIXES:
        for text in SHORT_INNOCENT:
            if prefix + text not in seen:
                add(prefix + text, **clean)
        for text in SHORT_ABUSE:
            add(prefix + text, toxicity=1, insult=1, threat=0, identity_attack=0, obscene=None, severe_toxicity=0)
        for text in SHORT_THREATS:
            add(prefix + text, toxicity=1, severe_toxicity=1, threat=1, identity_attack=0, obscene=0, insult=None)
        seen.update(prefix + text for text in SHORT_INNOCENT)
    # Exclusion and dehumanising generalisations over every group; each template
    # takes half the groups (alternating), so no single group is only positive.
    for i, template in enumerate(EXCLUSION + DEHUMANISING):
        for j, group in enumerate(ALL_GROUPS):
            text = template.format(g=group)
            if (i + j) % 2 == 0 and text not in seen:
                add(text, toxicity=1, identity_attack=1, threat=0, obscene=0, insult=None, severe_toxicity=None)
                seen.add(text)
    for i, template in enumerate(NEAR_MISS_GROUPS):
        for j, group in enumerate(ALL_GROUPS):
            text = template.format(g=group)
            if (i + j) % 2 == 0 and text not in seen:
                add(text, **clean)
                seen.add(text)
    for text in NEAR_MISS_OTHERS:
        add(text, **clean)
    return out


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", *LABELS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
