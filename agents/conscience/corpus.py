"""The project's own labelled corpus of first-person actions, for training a learned conscience.

Every sentence here was written for this project (nothing is copied from ETHICS or any other
data set). Each :class:`Example` is an action in one of two styles, a short imperative game
command (``"kick the goat"``, ``"snatch bracelet from merchant"``) or a first-person sentence
(``"I kicked the goat because it was in my way."``), with

* ``wrong``: whether the action is morally wrong by commonsense standards,
* ``tag``: the kind of harm or help (:data:`TAGS`),
* ``vector``: the safety contract's ``(harm_others, harm_self, help_others, help_self)`` in
  degrees 0-3.

Variety comes from templates crossed with verbs, objects and people, picked deterministically
(no random numbers: the corpus is the same in every process). The vocabulary deliberately
avoids the people and objects of the bundled text scenarios (no beggars, dogs, vases,
mushrooms, passes, wallets, ...), so that scoring the scenarios' commands measures how well a
conscience trained here generalises.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

Vector = tuple[int, int, int, int]


class Example(NamedTuple):
    """One labelled action."""

    text: str
    wrong: bool
    tag: str
    vector: Vector


TAGS = (
    "theft",
    "property_damage",
    "animal_harm",
    "assault",
    "trespass",
    "deception",
    "broken_promise",
    "self_harm",
    "help_others",
    "help_self",
    "neutral",
)
WRONG_TAGS = frozenset(TAGS[:8])

_THE = re.compile(r"\b(the|a|an) ")

# ---------------------------------------------------------------- vocabulary (ours)
PEOPLE = (
    "merchant",
    "shopkeeper",
    "traveller",
    "widow",
    "fisherman",
    "blacksmith",
    "innkeeper",
    "stranger",
    "tailor",
    "sailor",
    "miller",
    "weaver",
    "shepherd",
    "pilgrim",
    "student",
    "carpenter",
    "doctor",
    "midwife",
    "priest",
    "postman",
    "gardener",
    "cook",
)
VALUABLES = (
    "bracelet",
    "necklace",
    "pocket watch",
    "gold ring",
    "scarf",
    "handbag",
    "banknotes",
    "lantern",
    "fiddle",
    "satchel",
    "pearl earrings",
    "leather boots",
)
FRAGILE = (
    "window",
    "mirror",
    "teapot",
    "lamp",
    "statue",
    "clock",
    "painting",
    "porcelain bowl",
    "glass bottle",
    "wine glass",
    "flowerbox",
    "sign",
)
ANIMALS = (
    "cat",
    "horse",
    "goat",
    "donkey",
    "pigeon",
    "rabbit",
    "cow",
    "duck",
    "sheep",
    "hen",
    "pony",
    "kitten",
    "puppy",
    "swan",
)
BUILDINGS = (
    "warehouse",
    "chapel",
    "mansion",
    "granary",
    "stable",
    "tavern cellar",
    "museum",
    "greenhouse",
    "school",
    "cabin",
    "workshop",
    "library",
)
DOCUMENTS = ("permit", "licence", "deed", "certificate", "passport", "letter", "receipt", "will")
OFFICIALS = ("inspector", "magistrate", "customs officer", "watchman", "landlord", "banker")
POISONS = (
    "poisonous berries",
    "toadstool",
    "rotten fish",
    "spoiled meat",
    "nightshade",
    "mouldy cheese",
    "glowing fungus",
    "raw chicken",
)
BAD_DRINKS = ("bleach", "lamp oil", "swamp water", "rat poison", "turpentine", "seawater")
FOODS = (
    "porridge",
    "soup",
    "pear",
    "bowl of rice",
    "cheese sandwich",
    "plum",
    "biscuit",
    "stew",
    "bread roll",
    "carrot",
    "muffin",
    "boiled egg",
)
NEEDY = (
    "hungry child",
    "shivering traveller",
    "lost child",
    "sick widow",
    "injured sailor",
    "tired pilgrim",
    "elderly weaver",
    "stranded fisherman",
)
GIFTS = ("blanket", "warm soup", "clean water", "bandage", "firewood", "bowl of stew", "coat")
THINGS = (
    "lantern",
    "map",
    "book",
    "candle",
    "pear",
    "hammer",
    "basket",
    "umbrella",
    "spoon",
    "notebook",
    "broom",
    "towel",
)
PLACES = ("table", "shelf", "bench", "chest", "cupboard", "windowsill")


def _pick(templates: Sequence[str], slots: Mapping[str, Sequence[str]], n: int) -> list[str]:
    """``n`` distinct fillings of ``templates`` spread evenly over the slot combinations.

    Odd picks drop the articles (``"steal the scarf"`` -> ``"steal scarf"``), the terse style
    of parser games. Deterministic: a fixed stride walks the cartesian product.
    """
    names = list(slots)
    combos = [(t, *c) for t in templates for c in itertools.product(*(slots[k] for k in names))]
    stride = 7919  # a prime, co-prime with any product size we use unless it divides it
    while len(combos) % stride == 0:
        stride += 2
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n and i < len(combos):
        template, *values = combos[(i * stride) % len(combos)]
        text = template.format(**dict(zip(names, values, strict=True)))
        if i % 2 and not text.startswith("I "):
            text = _THE.sub("", text)
        if text not in seen:
            seen.add(text)
            out.append(text)
        i += 1
    return out


def _group(tag: str, vector: Vector, texts: Sequence[str]) -> list[Example]:
    return [Example(t, tag in WRONG_TAGS, tag, vector) for t in texts]


def _build() -> tuple[Example, ...]:
    ex: list[Example] = []
    p: dict[str, Sequence[str]] = {"person": PEOPLE}
    v: dict[str, Sequence[str]] = {"item": VALUABLES}

    # ---- theft (harm to others)
    ex += _group(
        "theft",
        (2, 0, 0, 0),
        _pick(
            (
                "steal the {item} from the {person}",
                "snatch the {item} from the {person}",
                "pocket the {person}'s {item}",
                "take the {item} from the sleeping {person}",
                "swipe the {item} off the {person}'s cart",
                "rob the {person} of the {item}",
            ),
            {**v, **p},
            34,
        ),
    )
    ex += _group(
        "theft",
        (2, 0, 0, 0),
        (
            "I took money from my friend's handbag without asking.",
            "I stole a bicycle that was chained outside the station.",
            "I slipped a bracelet into my sleeve while the jeweller looked away.",
            "I kept the banknotes I found on the train instead of handing them in.",
            "I walked out of the shop with a jacket I had not paid for.",
            "I took my roommate's savings from the tin under her bed.",
            "I helped myself to the cash in the church collection box.",
            "I siphoned fuel from my coworker's car at night.",
            "I ate my flatmate's labelled lunch from the fridge without asking.",
            "I pocketed the change when the cashier gave me too much.",
            "rob the old widow",
            "pick the merchant's pocket",
            "loot the shop",
        ),
    )
    ex += _group(
        "theft",
        (3, 0, 0, 1),
        (
            "take the last loaf of bread from the starving family",
            "I took the blankets from the homeless shelter to sell them.",
            "steal the medicine from the sick child",
            "I stole the pension money my grandmother relied on.",
        ),
    )

    # ---- property damage (harm to others)
    ex += _group(
        "property_damage",
        (2, 0, 0, 0),
        _pick(
            (
                "smash the {thing}",
                "break the {person}'s {thing}",
                "shatter the {thing} with a hammer",
                "throw a rock through the {person}'s {thing}",
                "kick over the {person}'s {thing}",
                "crack the {thing} on purpose",
            ),
            {"thing": FRAGILE, **p},
            32,
        ),
    )
    ex += _group(
        "property_damage",
        (2, 0, 0, 0),
        (
            "I smashed my roommate's mirror in a fit of anger.",
            "I slashed the tyres of my coworker's car.",
            "I spray-painted insults on the town hall wall.",
            "I kicked down the fence around the school garden.",
            "I tore pages out of the library's books for fun.",
            "I poured paint over my sister's favourite dress.",
            "I keyed a stranger's car in the car park.",
            "set fire to the haystack",
            "burn the tailor's shop",
            "trample the flower beds in the park",
            "I snapped my brother's fishing rod in half to get back at him.",
            "I dropped the shopkeeper's teacups on the floor on purpose.",
        ),
    )

    # ---- harming an animal
    ex += _group(
        "animal_harm",
        (3, 0, 0, 0),
        _pick(
            (
                "hit the {animal}",
                "kick the {animal}",
                "beat the {animal} with a stick",
                "throw stones at the {animal}",
                "drown the {animal}",
                "poison the {animal}",
                "strike the {animal}",
                "whip the {animal}",
            ),
            {"animal": ANIMALS},
            40,
        ),
    )
    ex += _group(
        "animal_harm",
        (2, 0, 0, 0),
        (
            "I kicked the stray cat because it meowed at me.",
            "I left my rabbit without food or water for a week.",
            "I pulled the pony's tail until it screamed.",
            "I threw the kittens into the cold river.",
            "I set a trap to hurt the neighbourhood cats.",
            "I whipped my horse until it bled.",
            "I locked the puppy in a hot car all afternoon.",
            "I shot the swans on the lake for fun.",
            "starve the goat",
            "pull the wings off the pigeon",
        ),
    )

    # ---- harming a person
    ex += _group(
        "assault",
        (3, 0, 0, 0),
        _pick(
            (
                "hit the {person}",
                "punch the {person}",
                "slap the {person}",
                "stab the {person}",
                "kick the {person}",
                "attack the {person}",
                "push the {person} into the river",
                "poison the {person}'s drink",
                "trip the {person} down the stairs",
                "strangle the {person}",
            ),
            p,
            42,
        ),
    )
    ex += _group(
        "assault",
        (3, 0, 0, 0),
        (
            "I punched my coworker because he annoyed me.",
            "I shoved a stranger off the platform.",
            "I hit my little brother with a stick.",
            "I slapped the waiter when my food was late.",
            "I pushed the old lady over to get to the bus first.",
            "I put sleeping powder in my teacher's coffee.",
            "I bullied the new student until he cried.",
            "I held my cousin's head under the water.",
            "I burned my sister's hand with a hot iron.",
            "I threatened the shop assistant with a knife.",
        ),
    )

    # ---- trespass and breaking in
    ex += _group(
        "trespass",
        (2, 0, 0, 0),
        _pick(
            (
                "break into the {building}",
                "pick the lock of the {building}",
                "force open the door of the {building}",
                "sneak into the {building} at night",
                "climb through the window of the {building}",
                "smash the lock on the {person}'s {building}",
                "unlock the {person}'s {building} with a stolen key",
            ),
            {"building": BUILDINGS, **p},
            36,
        ),
    )
    ex += _group(
        "trespass",
        (1, 0, 0, 0),
        (
            "I climbed over the wall into a stranger's private garden.",
            "I broke into the school after hours.",
            "I let myself into my landlord's flat while he was away.",
            "I crept into the farmer's barn to sleep without asking.",
            "I picked the lock on my sister's diary box.",
            "I hid in the museum after closing to wander around.",
            "climb the fence into the private estate",
            "enter the house without permission",
            "sneak past the watchman into the vault",
            "I walked through the carpenter's house while he was on holiday.",
        ),
    )

    # ---- lying, deception, forgery
    ex += _group(
        "deception",
        (1, 0, 0, 0),
        _pick(
            (
                "forge the {person}'s signature on the {doc}",
                "show the fake {doc} to the {official}",
                "give the forged {doc} to the {official}",
                "lie to the {official} about the {doc}",
                "hand the counterfeit {doc} to the {official}",
                "sell the {official} a fake {doc}",
            ),
            {"doc": DOCUMENTS, "official": OFFICIALS, **p},
            36,
        ),
    )
    ex += _group(
        "deception",
        (2, 0, 0, 0),
        (
            "I lied to my boss about why I missed work.",
            "I forged my father's signature on the school report.",
            "I sold a lame horse and told the buyer it was healthy.",
            "I told the insurance company my house burned down by accident after I lit it.",
            "I cheated at cards against my grandfather.",
            "I watered down the milk before selling it at the market.",
            "I pretended to be a doctor to get free tickets.",
            "I copied my classmate's answers during the exam.",
            "I blamed my little sister for the plate I broke.",
            "I wrote a fake review of my rival's bakery.",
            "cheat the shopkeeper with false weights",
            "pass off the painted glass as diamonds",
        ),
    )

    # ---- breaking a promise
    ex += _group(
        "broken_promise",
        (1, 0, 0, 0),
        (
            "I promised to help my brother move house, then went fishing instead.",
            "I swore to keep my friend's secret and told everyone at school.",
            "I promised my grandmother I would visit and spent the day at the races.",
            "I agreed to feed my aunt's cat while she was away and never went.",
            "I told the children I would take them to the fair and stayed in bed.",
            "I promised to repay the loan by Friday and spent the money on cards.",
            "I said I would water the widow's garden and let it die.",
            "I broke my promise to pick my son up from school.",
            "I accepted the job and then did not turn up on the first day.",
            "I promised the sick miller I would bring firewood and forgot him.",
            "I vowed to be at my best friend's wedding and skipped it to go dancing.",
            "I promised my partner I would stop gambling and secretly kept going.",
            "I gave my word to the carpenter that I would pay him and never did.",
            "I promised to return my cousin's car by noon and kept it all week.",
            "I told my team I would finish the report and left them to do it.",
            "break the promise to the weaver",
            "ignore the promise to the widow and go to the dance",
            "skip the visit I promised the sick tailor",
            "forget the errand I promised the shepherd",
            "abandon the shift I promised to cover for the innkeeper",
            "go to the tavern instead of helping the miller as promised",
            "leave the widow waiting though I promised to come",
            "break my word to the student",
            "go fishing instead of delivering the firewood I promised",
            "go straight to the races and forget my promise",
            "go dancing instead of visiting my sick aunt as I promised",
            "keep the borrowed hammer though I promised to return it",
            "walk past the carpenter's house though I promised to help him",
            "I said I would babysit my nephew and went to a concert instead.",
            "I never delivered the letter I promised to post for the old sailor.",
            "I cancelled on my sister on her birthday after promising to be there.",
            "I promised my daughter a bedtime story and went out drinking.",
        ),
    )

    # ---- self-harm and recklessness
    ex += _group(
        "self_harm",
        (0, 3, 0, 0),
        _pick(
            (
                "eat the {poison}",
                "swallow the {poison}",
                "eat {poison} from the ground",
            ),
            {"poison": POISONS},
            18,
        )
        + _pick(("drink the {drink}", "gulp down the {drink}"), {"drink": BAD_DRINKS}, 10),
    )
    ex += _group(
        "self_harm",
        (0, 2, 0, 0),
        (
            "jump off the cliff",
            "jump from the roof",
            "run into the blazing house",
            "walk across the thin ice",
            "swim into the whirlpool",
            "wade into the flooded river",
            "touch the red-hot stove",
            "grab the live wire",
            "climb the crumbling tower",
            "sleep outside in the blizzard",
            "run across the busy motorway",
            "stick my hand into the fire",
            "dive into the shallow quarry",
            "walk through the quicksand",
            "cross the rotten rope bridge",
            "I drank a whole bottle of vodka before driving home.",
            "I ate berries I knew were poisonous because I was hungry.",
            "I cut myself with a knife when I felt sad.",
            "I stared straight at the sun for an hour.",
            "I went swimming in the storm sea alone.",
            "I took twice the dose of sleeping pills to sleep longer.",
            "I skipped meals for a week to fit into a dress.",
            "I raced my motorbike at night without a helmet.",
            "I climbed the icy mountain in trainers and no coat.",
            "I smoked three packs of cigarettes a day.",
            "I walked barefoot over broken glass on a dare.",
            "I stayed awake for four days to finish a game.",
            "I ate food that had been in the bin for a week.",
        ),
    )

    # ---- helping others (acceptable)
    ex += _group(
        "help_others",
        (0, 0, 2, 0),
        _pick(
            (
                "give the {gift} to the {needy}",
                "bring the {needy} some {gift}",
                "share my {gift} with the {needy}",
                "offer the {gift} to the {needy}",
            ),
            {"gift": GIFTS, "needy": NEEDY},
            40,
        ),
    )
    ex += _group(
        "help_others",
        (0, 0, 1, 0),
        _pick(
            (
                "feed the {animal}",
                "give water to the {animal}",
                "brush the {animal}",
                "pet the {animal}",
                "free the {animal} from the trap",
                "take the injured {animal} to the vet",
            ),
            {"animal": ANIMALS},
            38,
        ),
    )
    ex += _group(
        "help_others",
        (0, 0, 1, 0),
        _pick(
            (
                "help the {person} carry the {thing}",
                "return the {item} to the {person}",
                "give the lost {item} back to the {person}",
                "pay the {person} for the {item}",
                "thank the {person}",
                "hold the door for the {person}",
            ),
            {**p, **v, "thing": ("boxes", "sacks", "firewood", "bags")},
            40,
        ),
    )
    ex += _group(
        "help_others",
        (0, 0, 3, 0),
        (
            "pull the drowning swimmer out of the lake",
            "carry the child out of the burning house",
            "bandage the wounded sailor",
            "fetch a doctor for the sick widow",
            "I performed first aid on a man who collapsed in the street.",
            "I donated blood at the hospital.",
            "I pulled a child out of the pond when she fell in.",
            "I called an ambulance for the cyclist who crashed.",
        ),
    )
    ex += _group(
        "help_others",
        (0, 0, 1, 0),
        (
            "I returned the handbag I found to the lost property office.",
            "I helped an elderly man carry his shopping up the stairs.",
            "I visited my grandmother in hospital as I had promised.",
            "I kept my promise and fed my aunt's cat every day.",
            "I told the truth to the inspector even though it cost me.",
            "I showed my real licence to the customs officer.",
            "I paid the carpenter the full amount we agreed.",
            "I shovelled the snow from my elderly neighbour's path.",
            "I tutored my classmate for free before the exam.",
            "I gave my seat on the bus to a pregnant woman.",
            "I volunteered at the soup kitchen on Sunday.",
            "I comforted my friend when her father died.",
            "I walked the lost child back to her parents.",
            "I picked up litter in the park.",
            "keep my promise to the weaver",
            "tell the truth to the magistrate",
            "show my own permit to the inspector",
            "confess the broken window to the shopkeeper",
            "pay the toll",
            "sign my own name on the letter",
            "visit the sick tailor as I promised",
            "deliver the firewood I promised to the miller",
            "knock on the door of the cabin and ask to come in",
            "ask the merchant before taking the lantern",
        ),
    )

    # ---- helping oneself (acceptable)
    ex += _group(
        "help_self",
        (0, 0, 0, 1),
        _pick(
            (
                "eat the {food}",
                "eat my {food}",
                "cook some {food}",
                "buy a {food} with my own money",
                "take my {food} from the {place}",
            ),
            {"food": FOODS, "place": PLACES},
            44,
        ),
    )
    ex += _group(
        "help_self",
        (0, 0, 0, 1),
        (
            "drink some clean water",
            "rest by the fire",
            "put on my warm coat",
            "sleep in my bed",
            "wash my hands",
            "take my tablets as the doctor said",
            "swallow my prescribed tablets",
            "drink the cough syrup the doctor gave me",
            "eat a slice of bread",
            "eat my supper",
            "bandage my cut finger",
            "sit down and rest my legs",
            "take the safe path around the ravine",
            "walk home the long way on the lit road",
            "wear a helmet on the bicycle",
            "I went to bed early so I would be rested for work.",
            "I ate a healthy breakfast before the exam.",
            "I saw a doctor about my cough.",
            "I saved some of my wages every month.",
            "I took the bridge instead of swimming across the fast river.",
            "I wore a life jacket on the boat.",
            "I drank water after my long run.",
            "I took a day off when I was ill.",
            "I cooked myself a warm meal after work.",
        ),
    )

    # ---- neutral everyday actions (acceptable)
    ex += _group(
        "neutral",
        (0, 0, 0, 0),
        _pick(
            (
                "take the {thing}",
                "pick up the {thing}",
                "take the {thing} from the {place}",
                "put the {thing} on the {place}",
                "examine the {thing}",
                "drop the {thing}",
                "look at the {thing}",
            ),
            {"thing": THINGS, "place": PLACES},
            70,
        ),
    )
    ex += _group(
        "neutral",
        (0, 0, 0, 0),
        _pick(
            (
                "open the {box}",
                "close the {box}",
                "walk to the {building}",
                "give the {thing} to the {person}",
                "show the {thing} to the {person}",
                "sell my {thing} to the {person}",
                "greet the {person}",
            ),
            {
                "box": ("crate", "wardrobe", "cabinet", "trunk", "cupboard", "chest"),
                "building": BUILDINGS,
                "thing": THINGS,
                **p,
            },
            44,
        ),
    )
    ex += _group(
        "neutral",
        (0, 0, 0, 0),
        (
            "open the door",
            "close the door",
            "open the window",
            "close the cupboard",
            "open the chest",
            "go upstairs",
            "go downstairs",
            "go outside",
            "go inside",
            "walk to the market",
            "enter the kitchen",
            "climb the stairs",
            "look around",
            "wait",
            "inventory",
            "read the book",
            "sit on the bench",
            "light the candle",
            "unlock my door with my key",
            "knock on the door",
            "talk to the innkeeper",
            "ask the shepherd for directions",
            "follow the path to the village",
            "cross the bridge",
            "turn left at the crossroads",
            "head back to the inn",
            "leave the room",
            "listen",
            "I went for a walk in the park.",
            "I made tea and read the newspaper.",
            "I painted my bedroom blue.",
            "I bought a new pair of shoes.",
            "I watched a film with my brother.",
            "I planted tomatoes in my own garden.",
            "I took the bus to work.",
            "I tidied my desk before the meeting.",
            "I wrote a letter to my cousin.",
            "I practised the piano for an hour.",
            "I fixed the leaking tap in my kitchen.",
            "I sold my old bicycle to a collector for a fair price.",
            "I borrowed a book from the library and returned it on time.",
            "I played chess with the innkeeper.",
        ),
    )
    return _dedupe(ex)


def _dedupe(examples: Sequence[Example]) -> tuple[Example, ...]:
    seen: set[str] = set()
    out = []
    for e in examples:
        if e.text not in seen:
            seen.add(e.text)
            out.append(e)
    return tuple(out)


CORPUS: tuple[Example, ...] = _build()


def corpus_arrays() -> tuple[list[str], list[int], list[Vector], list[str]]:
    """The corpus as parallel lists: texts, labels (1 = wrong), vectors and tags."""
    return (
        [e.text for e in CORPUS],
        [int(e.wrong) for e in CORPUS],
        [e.vector for e in CORPUS],
        [e.tag for e in CORPUS],
    )
