"""Generate the word-embedding corpus of assignment 02 and the evaluation sets derived from it.

    .venv/bin/python data/make_word_corpus.py      # writes the three files below, seeded, byte-identical each run

word_corpus.txt       one lower-case sentence per line, tokens separated by single spaces
word_similarity.csv   word1,word2,score: word pairs with a gold similarity 0-10 from the generator's structure
word_analogies.csv    a,b,c,d,relation: "a is to b as c is to d" for four relations
word_categories.csv   word,category,group: where each content word sits in the planted structure (for plots)

The corpus is small (about 120,000 tokens, 300 word types) but has the structure real text has, planted on
purpose so that it can be recovered from co-occurrence alone:

* semantic categories with sub-categories: animals (pets, farm, wild), fruit (orchard, tropical, berries),
  vehicles (road, water, air, rail); a word shares context words with its sub-category, fewer with its
  category, and has one context word of its own (dog - bone, ship - ocean);
* relations: gendered people (king/queen, boy/girl, ...: same topic words, he/his vs she/her),
  countries with their capitals and nationality adjectives (france/paris/french);
* a syntactic regularity: singular and plural nouns (dog/dogs) with number agreement
  (a/one/this ... is/has vs two/many/these ... are/have).

The gold similarity of two words is read off that structure (see `gold_score`), so it measures exactly what
a model could learn from this corpus.
"""
import csv
import itertools
import random
from pathlib import Path

SEED = 2
N_SENTENCES = 20000
HERE = Path(__file__).resolve().parent

# (male, female, topic words shared by the pair)
PEOPLE = [
    ("king", "queen", ["throne", "crown", "kingdom"]),
    ("prince", "princess", ["castle", "dragon", "knight"]),
    ("man", "woman", ["office", "newspaper", "coffee"]),
    ("boy", "girl", ["school", "toys", "homework"]),
    ("father", "mother", ["children", "baby", "family"]),
    ("son", "daughter", ["parents", "bedroom", "birthday"]),
    ("brother", "sister", ["twin", "games", "secret"]),
    ("uncle", "aunt", ["nephew", "niece", "visit"]),
    ("husband", "wife", ["wedding", "marriage", "ring"]),
    ("actor", "actress", ["film", "stage", "role"]),
    ("waiter", "waitress", ["restaurant", "menu", "tips"]),
]
GENDER = {"male": ("he", "his"), "female": ("she", "her")}

# (country, capital, nationality adjective, continent)
COUNTRIES = [
    ("france", "paris", "french", "europe"), ("germany", "berlin", "german", "europe"),
    ("italy", "rome", "italian", "europe"), ("spain", "madrid", "spanish", "europe"),
    ("portugal", "lisbon", "portuguese", "europe"), ("greece", "athens", "greek", "europe"),
    ("poland", "warsaw", "polish", "europe"), ("sweden", "stockholm", "swedish", "europe"),
    ("japan", "tokyo", "japanese", "asia"), ("china", "beijing", "chinese", "asia"),
    ("india", "delhi", "indian", "asia"), ("egypt", "cairo", "egyptian", "africa"),
    ("kenya", "nairobi", "kenyan", "africa"), ("canada", "ottawa", "canadian", "america"),
    ("peru", "lima", "peruvian", "america"), ("brazil", "brasilia", "brazilian", "america"),
]

# category -> sub-category -> (context words of the sub-category, [(singular, plural, own word), ...])
NOUNS = {
    "animal": {
        "pet": (["house", "owner", "sofa"], [("dog", "dogs", "bone"), ("cat", "cats", "yarn"),
                                            ("rabbit", "rabbits", "carrot"), ("hamster", "hamsters", "wheel")]),
        "farm": (["farm", "farmer", "barn"], [("cow", "cows", "milk"), ("horse", "horses", "saddle"),
                                             ("pig", "pigs", "mud"), ("goat", "goats", "cheese")]),
        "wild": (["forest", "jungle", "hunter"], [("lion", "lions", "mane"), ("tiger", "tigers", "stripes"),
                                                  ("wolf", "wolves", "moon"), ("bear", "bears", "honey"),
                                                  ("fox", "foxes", "den")]),
    },
    "fruit": {
        "orchard": (["orchard", "tree", "autumn"], [("apple", "apples", "pie"), ("pear", "pears", "cider"),
                                                   ("plum", "plums", "jam"), ("peach", "peaches", "fuzz")]),
        "tropical": (["island", "palm", "sunshine"], [("banana", "bananas", "peel"), ("mango", "mangoes", "chutney"),
                                                      ("coconut", "coconuts", "shell")]),
        "berry": (["bush", "garden", "summer"], [("cherry", "cherries", "stone"), ("strawberry", "strawberries", "cream"),
                                                ("grape", "grapes", "wine")]),
    },
    "vehicle": {
        "road": (["road", "driver", "traffic"], [("car", "cars", "garage"), ("bus", "buses", "ticket"),
                                                ("truck", "trucks", "cargo"), ("taxi", "taxis", "fare")]),
        "water": (["water", "sailor", "harbour"], [("boat", "boats", "lake"), ("ship", "ships", "ocean"),
                                                  ("canoe", "canoes", "paddle")]),
        "air": (["sky", "pilot", "clouds"], [("plane", "planes", "airport"), ("helicopter", "helicopters", "rotor"),
                                            ("balloon", "balloons", "basket")]),
    },
}
CATEGORY_WORDS = {  # context shared by a whole category: (verbs singular, verbs plural, adjectives)
    "animal": (["eats", "sleeps", "runs"], ["eat", "sleep", "run"], ["hungry", "furry", "wild"]),
    "fruit": (["grows", "ripens", "falls"], ["grow", "ripen", "fall"], ["sweet", "ripe", "juicy"]),
    "vehicle": (["moves", "stops", "breaks"], ["move", "stop", "break"], ["fast", "loud", "new"]),
}
SINGULAR = (["a", "one", "this", "that", "every"], "is", "has", "likes")
PLURAL = (["two", "three", "many", "these", "those", "some"], "are", "have", "like")

PEOPLE_TEMPLATES = [
    "the {p} lost {poss} {t}", "the {p} found {poss} {t}", "{s} is the {p} with the {t}",
    "the {p} said that {s} loves the {t}", "yesterday the {p} talked about the {t}",
    "{s} was a good {p} and {s} knew the {t}", "the {p} and {poss} {t}",
]
COUNTRY_TEMPLATES = [
    "{k} is the capital of {c}", "the capital of {c} is {k}", "{c} is a country in {n}", "{k} is a city in {c}",
    "the city of {k} is {big}", "the country of {c} is {big}", "many {a} people live in {k}",
    "people in {c} speak {a}", "the {a} government meets in {k}", "{a} food is popular in {c}",
    "{s} flew to {k} last year", "{s} travelled across {c} by train",
]


def sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        male, female, topics = rng.choice(PEOPLE)
        sex = rng.choice(["male", "female"])
        subj, poss = GENDER[sex]
        return rng.choice(PEOPLE_TEMPLATES).format(p=male if sex == "male" else female, s=subj, poss=poss,
                                                   t=rng.choice(topics))
    if kind < 0.5:
        c, k, a, n = rng.choice(COUNTRIES)
        return rng.choice(COUNTRY_TEMPLATES).format(c=c, k=k, a=a, n=n, s=rng.choice(["he", "she"]),
                                                    big=rng.choice(["big", "old", "beautiful", "famous"]))
    category = rng.choice(list(NOUNS))
    sub = rng.choice(list(NOUNS[category]))
    sub_words, members = NOUNS[category][sub]
    singular, plural, own = rng.choice(members)
    verbs_sg, verbs_pl, adjectives = CATEGORY_WORDS[category]
    plural_form = rng.random() < 0.5
    dets, be, have, like = PLURAL if plural_form else SINGULAR
    noun = plural if plural_form else singular
    verb = rng.choice(verbs_pl if plural_form else verbs_sg)
    det = rng.choice(dets)
    pattern = rng.randrange(6)
    if pattern == 0:
        return f"{det} {noun} {be} near the {rng.choice(sub_words)}"
    if pattern == 1:
        return f"{det} {noun} {have} a {own}"
    if pattern == 2:
        return f"{det} {rng.choice(adjectives)} {noun} {verb} in the {rng.choice(sub_words)}"
    if pattern == 3:
        return f"the {own} of {det} {noun}"
    if pattern == 4:
        return f"{det} {noun} {like} the {rng.choice(sub_words)} and the {own}"
    return f"{det} {noun} {be} {rng.choice(adjectives)}"


def word_info():
    """word -> dict of its place in the structure, for the gold scores."""
    info = {}
    for i, (m, f, _) in enumerate(PEOPLE):
        info[m] = dict(cat="person", sub=f"pair{i}", pair=f"pair{i}")
        info[f] = dict(cat="person", sub=f"pair{i}", pair=f"pair{i}")
    for c, k, a, _ in COUNTRIES:
        info[c] = dict(cat="place", sub="country", pair=c)
        info[k] = dict(cat="place", sub="capital", pair=c)
    for cat, subs in NOUNS.items():
        for sub, (_, members) in subs.items():
            for singular, _, _ in members:
                info[singular] = dict(cat=cat, sub=sub, pair=singular)
    return info


def gold_score(w1: str, w2: str, info: dict) -> float:
    """Similarity 0-10 from the generator's structure."""
    a, b = info[w1], info[w2]
    if a["cat"] != b["cat"]:
        return 1.0
    if a["cat"] == "person":
        if a["pair"] == b["pair"]:
            return 8.0  # king / queen: same topics, other gender
        return 4.0  # two people with different topics
    if a["cat"] == "place":
        if a["sub"] == b["sub"]:
            return 6.0  # two countries, or two capitals
        return 5.0 if a["pair"] == b["pair"] else 3.0  # france / paris vs france / rome
    return 8.0 if a["sub"] == b["sub"] else 5.0  # dog / cat vs dog / cow


def similarity_pairs(rng: random.Random, n: int = 400):
    info = word_info()
    words = sorted(info)
    pairs = sorted({tuple(sorted(rng.sample(words, 2))) for _ in range(3 * n)})
    # Oversample pairs of the same category, which random pairs rarely hit.
    same = sorted(p for p in itertools.combinations(words, 2) if info[p[0]]["cat"] == info[p[1]]["cat"])
    pairs = sorted(set(rng.sample(pairs, n // 2)) | set(rng.sample(same, n // 2)))
    return [(w1, w2, gold_score(w1, w2, info)) for w1, w2 in pairs]


def analogies():
    rows = []
    gender = [(m, f) for m, f, _ in PEOPLE]
    capital = [(c, k) for c, k, _, _ in COUNTRIES]
    nationality = [(c, a) for c, _, a, _ in COUNTRIES]
    plural = [(s, p) for subs in NOUNS.values() for _, members in subs.values() for s, p, _ in members]
    for relation, pairs in (("gender", gender), ("capital", capital), ("nationality", nationality), ("plural", plural)):
        for (a, b), (c, d) in itertools.permutations(pairs, 2):
            rows.append((a, b, c, d, relation))
    return rows


def categories():
    rows = []
    for m, f, _ in PEOPLE:
        rows += [(m, "person", "male"), (f, "person", "female")]
    for c, k, a, _ in COUNTRIES:
        rows += [(c, "place", "country"), (k, "place", "capital"), (a, "nationality", "nationality")]
    for cat, subs in NOUNS.items():
        for sub, (_, members) in subs.items():
            for singular, plural, _ in members:
                rows += [(singular, cat, sub), (plural, cat, sub + " (plural)")]
    return rows


def main():
    rng = random.Random(SEED)
    lines = [sentence(rng) for _ in range(N_SENTENCES)]
    (HERE / "word_corpus.txt").write_text("\n".join(lines) + "\n")
    with open(HERE / "word_similarity.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["word1", "word2", "score"])
        writer.writerows(similarity_pairs(random.Random(SEED + 1)))
    with open(HERE / "word_analogies.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["a", "b", "c", "d", "relation"])
        writer.writerows(analogies())
    with open(HERE / "word_categories.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["word", "category", "group"])
        writer.writerows(categories())


if __name__ == "__main__":
    main()
