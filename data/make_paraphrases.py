"""Generate the paraphrase pairs of assignment 02 from an authored lexicon of synonyms.

    .venv/bin/python data/make_paraphrases.py      # writes paraphrases.csv, seeded, byte-identical each run

Each pair renders one meaning (who, did what, to what, when) twice, with different synonyms for every slot
where the lexicon has them and independently chosen sentence patterns (active, fronted time, passive):

    the physician repaired the couch yesterday  /  the day before, the sofa was mended by the doctor

So a model can only match the two sides by learning which words mean the same. The test split holds
meanings that never occur in training (new combinations of known words).
"""
import csv
import random
from pathlib import Path

SEED = 3
N_TRAIN, N_TEST = 2000, 200
HERE = Path(__file__).resolve().parent

SUBJECTS = [
    ["the doctor", "the physician", "the medic"], ["the child", "the kid", "the youngster"],
    ["the teacher", "the instructor", "the tutor"], ["the police officer", "the cop", "the policeman"],
    ["the student", "the pupil", "the learner"], ["the chef", "the cook"],
    ["my neighbour", "the man next door"], ["the boss", "the manager", "the supervisor"],
    ["the lawyer", "the attorney"], ["the sailor", "the seaman", "the mariner"],
    ["my grandmother", "my grandma", "granny"], ["the pilot", "the aviator"],
]
VERBS = [  # (past, participle) synonyms
    [("bought", "bought"), ("purchased", "purchased"), ("paid for", "paid for")],
    [("fixed", "fixed"), ("repaired", "repaired"), ("mended", "mended")],
    [("found", "found"), ("discovered", "discovered"), ("located", "located")],
    [("lost", "lost"), ("misplaced", "misplaced")],
    [("cleaned", "cleaned"), ("washed", "washed"), ("scrubbed", "scrubbed")],
    [("sold", "sold"), ("flogged", "flogged")],
    [("broke", "broken"), ("smashed", "smashed"), ("wrecked", "wrecked")],
    [("painted", "painted"), ("coloured", "coloured")],
    [("stole", "stolen"), ("pinched", "pinched"), ("nicked", "nicked")],
    [("hid", "hidden"), ("concealed", "concealed")],
    [("examined", "examined"), ("inspected", "inspected"), ("checked", "checked")],
]
OBJECTS = [
    ["the car", "the automobile"], ["the sofa", "the couch", "the settee"],
    ["the picture", "the photo", "the photograph"], ["the bike", "the bicycle"], ["the hat", "the cap"],
    ["the gift", "the present"], ["the phone", "the mobile", "the cellphone"],
    ["the jumper", "the sweater", "the pullover"], ["the bin", "the dustbin", "the trash can"],
    ["the lamp", "the light"], ["the boat", "the vessel"], ["the cupboard", "the cabinet", "the closet"],
    ["the wallet", "the purse"],
]
TIMES = [
    ["yesterday", "the day before"], ["this morning", "earlier today"], ["last week", "seven days ago"],
    ["at night", "after dark"], ["quickly", "in a hurry"], ["carefully", "with great care"],
    ["on sunday", "at the weekend"], ["again", "once more"],
]


def render(meaning, choice, pattern):
    s, v, o, t = meaning
    subject, (past, participle), obj, time = (SUBJECTS[s][choice[0]], VERBS[v][choice[1]], OBJECTS[o][choice[2]],
                                              TIMES[t][choice[3]])
    if pattern == 0:
        return f"{subject} {past} {obj} {time}"
    if pattern == 1:
        return f"{time} {subject} {past} {obj}"
    return f"{obj} was {participle} by {subject} {time}"


def pair(meaning, rng):
    sizes = [len(SUBJECTS[meaning[0]]), len(VERBS[meaning[1]]), len(OBJECTS[meaning[2]]), len(TIMES[meaning[3]])]
    first = [rng.randrange(n) for n in sizes]
    second = [rng.choice([i for i in range(n) if i != c]) for n, c in zip(sizes, first)]  # every slot differs
    return render(meaning, first, rng.randrange(3)), render(meaning, second, rng.randrange(3))


def main():
    rng = random.Random(SEED)
    meanings = set()
    while len(meanings) < N_TRAIN + N_TEST:
        meanings.add((rng.randrange(len(SUBJECTS)), rng.randrange(len(VERBS)), rng.randrange(len(OBJECTS)),
                      rng.randrange(len(TIMES))))
    meanings = sorted(meanings)
    rng.shuffle(meanings)
    with open(HERE / "paraphrases.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["a", "b", "split"])
        for i, meaning in enumerate(meanings):
            writer.writerow([*pair(meaning, rng), "test" if i < N_TEST else "train"])


if __name__ == "__main__":
    main()
