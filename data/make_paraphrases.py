"""Generate the paraphrase pairs of assignment 02 from an authored lexicon of synonyms.

    .venv/bin/python data/make_paraphrases.py      # writes paraphrases.csv, seeded, byte-identical each run

Each pair renders one meaning (who, did what, to what or whom, when) twice, with a different synonym in every
slot and independently chosen sentence patterns (active, fronted time, passive):

    the physician repaired the couch yesterday  /  the day before the sofa was mended by the doctor

so the two sides of a pair share no content word, and a model can only match them by knowing which words mean
the same. Three splits, with meanings that never repeat across splits:

* ``train`` (2,000 pairs): only the TRAINING wordings of the lexicon (every concept has at least two).
* ``test_in_lexicon`` (200 pairs): new meanings, rendered with the training wordings only.
* ``test_out_of_lexicon`` (200 pairs): new meanings; the query (side a) uses training wordings, the key (side b)
  uses the concept's RESERVED wording (the last of its list, never in training) in ``OUT_SLOTS`` of its four
  slots, chosen at random. A model that learned the lexicon from the training pairs alone has never seen those
  words; a pretrained model has.

Both test splits come in near-miss groups: every test meaning has a twin in the same split that shares most of
its words but not its meaning. A twin of a meaning with a person as the object swaps the two people ("the doctor
thanked the teacher" / "the teacher thanked the doctor": the same words, roles reversed); any other twin changes
one slot (subject, verb, object or time). Each twin is rendered like any pair, so a twin's key often repeats the
wording of the other meaning's query: the distractors share words with the query, the right key shares none.
Twins are rows 2k and 2k + 1 of a test split; the column ``near_miss`` says how they differ (swap, subject, verb,
object, time; empty for training rows).
"""
import csv
import random
from pathlib import Path

SEED = 3
N_TRAIN, N_TEST = 2000, 200   # N_TEST pairs in each test split, N_TEST // 2 near-miss groups of two
OUT_SLOTS = 3                 # slots of an out-of-lexicon key that use the reserved (never trained) wording
HERE = Path(__file__).resolve().parent

# Every list: synonyms of one concept; the LAST wording is reserved for test_out_of_lexicon keys.
PEOPLE = [  # subjects, and objects of the person verbs
    ["the doctor", "the physician", "the medic"], ["the child", "the kid", "the youngster"],
    ["the teacher", "the tutor", "the instructor"], ["the police officer", "the cop", "the policeman"],
    ["the student", "the pupil", "the learner"], ["the chef", "the cook", "the caterer"],
    ["my neighbour", "the man next door", "the neighbor"], ["the boss", "the manager", "the supervisor"],
    ["the lawyer", "the attorney", "the solicitor"], ["the sailor", "the seaman", "the mariner"],
    ["my grandmother", "my grandma", "my granny"], ["the pilot", "the aviator", "the captain"],
]
THING_VERBS = [  # (past, participle) synonyms; the object is a thing
    [("bought", "bought"), ("purchased", "purchased"), ("paid for", "paid for")],
    [("fixed", "fixed"), ("repaired", "repaired"), ("mended", "mended")],
    [("found", "found"), ("discovered", "discovered"), ("located", "located")],
    [("lost", "lost"), ("misplaced", "misplaced"), ("mislaid", "mislaid")],
    [("cleaned", "cleaned"), ("washed", "washed"), ("scrubbed", "scrubbed")],
    [("sold", "sold"), ("flogged", "flogged"), ("got rid of", "got rid of")],
    [("broke", "broken"), ("smashed", "smashed"), ("wrecked", "wrecked")],
    [("painted", "painted"), ("coloured", "coloured"), ("decorated", "decorated")],
    [("stole", "stolen"), ("pinched", "pinched"), ("nicked", "nicked")],
    [("hid", "hidden"), ("concealed", "concealed"), ("tucked away", "tucked away")],
    [("examined", "examined"), ("inspected", "inspected"), ("checked", "checked")],
]
PERSON_VERBS = [  # the object is a person: a twin swaps the two people
    [("thanked", "thanked"), ("praised", "praised"), ("commended", "commended")],
    [("phoned", "phoned"), ("rang", "rung"), ("telephoned", "telephoned")],
    [("helped", "helped"), ("assisted", "assisted"), ("aided", "aided")],
    [("blamed", "blamed"), ("accused", "accused"), ("faulted", "faulted")],
    [("visited", "visited"), ("called on", "called on"), ("dropped in on", "dropped in on")],
]
THINGS = [
    ["the car", "the automobile", "the vehicle"], ["the sofa", "the couch", "the settee"],
    ["the picture", "the photo", "the photograph"], ["the bike", "the bicycle", "the cycle"],
    ["the hat", "the cap", "the beanie"], ["the gift", "the present", "the keepsake"],
    ["the phone", "the mobile", "the cellphone"], ["the jumper", "the sweater", "the pullover"],
    ["the bin", "the dustbin", "the trash can"], ["the lamp", "the light", "the lantern"],
    ["the boat", "the vessel", "the dinghy"], ["the cupboard", "the cabinet", "the closet"],
    ["the wallet", "the purse", "the billfold"],
]
TIMES = [
    ["yesterday", "the day before", "the previous evening"], ["this morning", "earlier today", "at dawn"],
    ["last week", "seven days ago", "recently"], ["at night", "after dark", "overnight"],
    ["quickly", "in a hurry", "hastily"], ["carefully", "with great care", "cautiously"],
    ["on sunday", "at the weekend", "on the sabbath"], ["again", "once more", "a second time"],
]
VERBS = THING_VERBS + PERSON_VERBS
FUNCTION_WORDS = {"the", "my", "a", "was", "by", "on", "at", "in", "for", "of", "with"}


def is_person_verb(v):
    return v >= len(THING_VERBS)


def slots(meaning):
    """The four synonym lists of a meaning (subject, verb, object, time)."""
    s, v, o, t = meaning
    return PEOPLE[s], VERBS[v], (PEOPLE if is_person_verb(v) else THINGS)[o], TIMES[t]


def render(meaning, choice, pattern):
    (subject, (past, participle), obj, time) = (lst[c] for lst, c in zip(slots(meaning), choice))
    if pattern == 0:
        return f"{subject} {past} {obj} {time}"
    if pattern == 1:
        return f"{time} {subject} {past} {obj}"
    return f"{obj} was {participle} by {subject} {time}"


def pair(meaning, rng, reserved_slots=()):
    """Side a: training wordings; side b: a different training wording in every slot, except the reserved slots,
    which take the reserved (last) wording."""
    lists = slots(meaning)
    first = [rng.randrange(len(lst) - 1) for lst in lists]
    second = [len(lst) - 1 if k in reserved_slots else rng.choice([i for i in range(len(lst) - 1) if i != c])
              for k, (lst, c) in enumerate(zip(lists, first))]
    return render(meaning, first, rng.randrange(3)), render(meaning, second, rng.randrange(3))


def random_meaning(rng):
    v = rng.randrange(len(VERBS))
    s = rng.randrange(len(PEOPLE))
    if is_person_verb(v):
        o = rng.choice([p for p in range(len(PEOPLE)) if p != s])
    else:
        o = rng.randrange(len(THINGS))
    return s, v, o, rng.randrange(len(TIMES))


SLOT_NAMES = ["subject", "verb", "object", "time"]


def twin(meaning, rng):
    """A near miss and how it differs: the two people swapped ("swap", person verbs), else one slot changed to
    another concept (the slot's name)."""
    s, v, o, t = meaning
    if is_person_verb(v):
        return (o, v, s, t), "swap"
    slot = rng.randrange(4)
    sizes = [len(PEOPLE), len(THING_VERBS), len(THINGS), len(TIMES)]
    new = list(meaning)
    new[slot] = rng.choice([i for i in range(sizes[slot]) if i != meaning[slot]])
    return tuple(new), SLOT_NAMES[slot]


def test_groups(rng, used):
    """N_TEST (meaning, near_miss) in near-miss pairs, none of the meanings in `used` (which is updated)."""
    out = []
    while len(out) < N_TEST:
        m = random_meaning(rng)
        m2, kind = twin(m, rng)
        if m not in used and m2 not in used:
            used.update((m, m2))
            out += [(m, kind), (m2, kind)]
    return out


def check_reserved_wordings_are_unseen():
    """No content word of a reserved wording occurs in any training wording (function words aside)."""
    seen = {t for lst in PEOPLE + THINGS + TIMES for w in lst[:-1] for t in w.split()}
    seen.update(t for verb in VERBS for past, participle in verb[:-1] for t in f"{past} {participle}".split())
    reserved = [lst[-1] for lst in PEOPLE + THINGS + TIMES] + [" ".join(verb[-1]) for verb in VERBS]
    leaks = {w: set(w.split()) & seen - FUNCTION_WORDS for w in reserved}
    assert not any(leaks.values()), f"reserved wordings reuse training words: { {w: t for w, t in leaks.items() if t} }"


def main():
    check_reserved_wordings_are_unseen()
    rng = random.Random(SEED)
    used = set()
    test_in, test_out = test_groups(rng, used), test_groups(rng, used)
    train = set()
    while len(train) < N_TRAIN:
        m = random_meaning(rng)
        if m not in used:
            train.add(m)
    train = sorted(train)
    rng.shuffle(train)
    rows = [(*pair(m, rng), "train", "") for m in train]
    rows += [(*pair(m, rng), "test_in_lexicon", kind) for m, kind in test_in]
    rows += [(*pair(m, rng, rng.sample(range(4), OUT_SLOTS)), "test_out_of_lexicon", kind) for m, kind in test_out]
    with open(HERE / "paraphrases.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["a", "b", "split", "near_miss"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
