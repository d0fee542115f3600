"""Generate the knowledge base of assignment 04 (seeded, deterministic).

    .venv/bin/python data/make_kb.py        # writes kb_passages.jsonl, kb_queries.jsonl, kb_questions.jsonl

Six topics (device troubleshooting, gardening, cooking, astronomy, personal finance, bicycle maintenance).
Every document describes one entity (a device, a plant, a dish, ...) in several passages, one aspect each.
Passages are written from hand-authored facts and several phrasings per aspect, so that

* search queries that quote a rare code or name (e.g. an error code) are easy for BM25 and hard for a
  dense model, which sees every error-code passage as "a device error";
* paraphrased queries share almost no words with their passage, which is easy for a dense model and
  hard for BM25;
* some queries have several relevant passages (the same cause or month across entities);
* questions have a gold answer span and the supporting passage; some cannot be answered from the corpus.
"""
import json
import random
from pathlib import Path

SEED = 4
HERE = Path(__file__).resolve().parent
rng = random.Random(SEED)


def pick(options):
    return rng.choice(options)


def filler(pool):
    """A general remark from a topic's pool, in about half of the passages."""
    return rng.choice(pool) if rng.random() < 0.5 else ""


SHARED_REMARKS = [  # remarks any topic could hold: shared vocabulary (the topic pools below
    # hold some of them too, so that a repeated remark never names a topic)
    "Write the date down, so that you know when it was last done.",
    "Cheap tools often cost more in the end.",
    "Cold weather makes everything slower.",
    "Start small and check the result before doing more.",
    "A short checklist prevents most mistakes.",
    "Ask someone experienced if you are unsure.",
    "It takes practice, so do not be discouraged by a first attempt that goes wrong.",
    "Reading the instructions twice saves time later.",
]

passages, queries, questions = [], [], []


def add_passage(doc_id, topic, title, text, second_topic=None):
    pid = f"{doc_id}-{sum(p['doc_id'] == doc_id for p in passages) + 1}"
    passages.append({"id": pid, "doc_id": doc_id, "topic": topic, "title": title, "text": " ".join(text.split()),
                     "second_topic": second_topic})
    return pid


def add_query(kind, query, relevant):
    queries.append({"qid": f"q{len(queries) + 1:03d}", "kind": kind, "query": query, "relevant": sorted(relevant)})


def add_question(question, answer, support):
    questions.append({"question": question, "answer": answer, "support": support})


# ---------------------------------------------------------------------------------------------------------------
# 1. Device troubleshooting: rare error codes and model names
# ---------------------------------------------------------------------------------------------------------------
DEVICES = [
    ("tech-01", "Nimbus LX-4", "wireless router", "LX", 2019),
    ("tech-02", "Orchid P210", "laser printer", "P", 2021),
    ("tech-03", "Kestrel NAS-8", "network storage box", "K", 2020),
    ("tech-04", "Halcyon T3", "smart thermostat", "H", 2022),
    ("tech-05", "Vantor X9", "home cinema projector", "VX", 2018),
    ("tech-06", "Corvid AP-7", "ceiling access point", "C", 2023),
    ("tech-07", "Pellion M2", "label printer", "M", 2020),
    ("tech-08", "Brightwave DW-60", "dishwasher", "BW", 2021),
    ("tech-09", "Quillon S5", "robot vacuum", "S", 2022),
    ("tech-10", "Marrow TV-55Q", "smart television", "TV", 2023),
    ("tech-11", "Fennick CM-3", "espresso machine", "CM", 2019),
    ("tech-12", "Solace UPS-1500", "uninterruptible power supply", "U", 2021),
]
# (meaning, fix, paraphrase of the symptom for a query without the code)
CAUSES = [
    ("the firmware image failed its checksum", "hold the reset button for ten seconds and reinstall the latest firmware from a USB stick",
     "the software update seems to have broken it"),
    ("the internal temperature sensor reports overheating", "switch the unit off, clear the air vents and let it cool for thirty minutes",
     "it gets too hot and shuts itself down"),
    ("the power adapter is delivering too little voltage", "try the original adapter in a different wall socket",
     "it keeps dying because it is not getting enough electricity"),
    ("the cooling fan has stalled", "remove the dust from the fan grille with compressed air and restart",
     "the little propeller inside that keeps it cool has stopped spinning"),
    ("the configuration file is corrupted", "restore the factory settings and run the setup wizard again",
     "its saved settings got scrambled"),
    ("the clock battery is flat", "replace the CR2032 coin cell behind the service panel",
     "it forgets the date and time whenever it is unplugged"),
    ("the wireless module cannot reach the access point", "move the unit closer to the access point or pair it again",
     "it keeps dropping off the wifi"),
    ("the front cover is not fully closed", "open the cover and close it firmly until it clicks",
     "a lid or flap was left slightly open"),
    ("the memory self-test found a faulty module", "contact support to arrange a repair under warranty",
     "its RAM is broken"),
    ("the water inlet valve is blocked", "clean the filter at the end of the inlet hose",
     "no water is coming in"),
]
TECH_FILLER = [
    "Write down the code before you restart, because it is cleared when the unit powers up again.",
    "The code is shown on the display and repeated by the status light, which blinks in the same pattern.",
    SHARED_REMARKS[0],
    "If the same code returns within a day, do not keep resetting the unit.",
    "The event log in the web interface lists the last twenty codes with their times.",
    SHARED_REMARKS[5],
]
# Intro sentences, varied by position (not drawn from rng, so that every later draw stays as it was).
TECH_INTRO = [
    "When something goes wrong it stops and shows an error code on its display.",
    "A fault makes it beep and put a short code on the screen.",
    "Like most modern appliances, it reports problems with a code rather than a message.",
    "Owners usually meet its error codes after a power cut or an update.",
]
used_codes = set()
for doc_id, name, kind, prefix, year in DEVICES:
    title = f"{name} {kind}: error codes"
    add_passage(doc_id, "device troubleshooting", title, f"""
        The {name} is a {kind} first sold in {year}. {TECH_INTRO[DEVICES.index((doc_id, name, kind, prefix, year)) % len(TECH_INTRO)]}
        {filler(TECH_FILLER)} Firmware updates are published on the manufacturer's support site every few months.""")
    add_question(f"When was the {name} first sold?", str(year), [f"{doc_id}-1"])
    for cause in rng.sample(CAUSES, 5):
        meaning, fix, symptom = cause
        while True:
            code = f"{prefix}-{rng.randint(100, 999)}" if rng.random() < 0.6 else f"E{rng.randint(10, 99)}{rng.choice('ABCDF')}"
            if code not in used_codes:
                used_codes.add(code)
                break
        text = pick([
            f"Error {code} on the {name} means that {meaning}. To clear it, {fix}. {filler(TECH_FILLER)}",
            f"If the {name} shows {code}, {meaning}. {fix[0].upper() + fix[1:]}. {filler(TECH_FILLER)}",
            f"Code {code}: {meaning}. This is one of the more common faults on the {name}. To fix it, {fix}. {filler(TECH_FILLER)}",
        ])
        pid = add_passage(doc_id, "device troubleshooting", title, text)
        cause_index = CAUSES.index(cause)
        add_query("code", pick([f"error {code}", f"{code} error", f"what does {code} mean"]), [pid])
        add_question(f"What does error {code} mean on the {name}?", meaning, [pid])
        passages[-1]["_cause"] = cause_index
        if rng.random() < 0.2:
            add_query("paraphrase", f"my {kind}: {symptom}", [pid])

# Multi-relevant: every device passage with one cause.
for i, (meaning, fix, symptom) in enumerate(CAUSES[:6]):
    rel = [p["id"] for p in passages if p.get("_cause") == i]
    if len(rel) >= 2:
        add_query("multi", f"error codes meaning {meaning.replace('the ', '', 1)}", rel)
for p in passages:
    p.pop("_cause", None)

# ---------------------------------------------------------------------------------------------------------------
# 2. Gardening
# ---------------------------------------------------------------------------------------------------------------
PLANTS = [
    dict(name="tomatoes", one="tomato", month="March", depth="6 mm", spacing="45 cm", days="7 to 10 days", sun="full sun",
         water="every two days in hot weather", feed="a high-potash liquid feed once the first flowers open",
         pest="blight", pest_fix="remove affected leaves and keep water off the foliage", harvest="when the fruit is fully coloured but still firm",
         para_water="how often should my tomato plants get a drink when it is scorching"),
    dict(name="carrots", one="carrot", month="April", depth="1 cm", spacing="5 cm", days="two to three weeks", sun="full sun",
         water="only in long dry spells", feed="no extra fertiliser, since rich soil makes the roots fork",
         pest="carrot fly", pest_fix="cover the rows with fine insect mesh", harvest="when the shoulders are about 2 cm across",
         para_water="do the orange root vegetables need irrigation"),
    dict(name="garlic", one="garlic bulb", month="October", depth="5 cm", spacing="15 cm", days="four weeks", sun="full sun",
         water="rarely, and not at all once the leaves yellow", feed="a general fertiliser in early spring",
         pest="rust", pest_fix="pick off the orange-spotted leaves and improve air flow", harvest="when the lower leaves turn yellow in summer",
         para_water="should I keep giving the cloves moisture as the foliage fades"),
    dict(name="runner beans", one="runner bean", month="May", depth="5 cm", spacing="20 cm", days="one to two weeks", sun="a sheltered sunny spot",
         water="generously twice a week once they flower", feed="a liquid seaweed feed every fortnight",
         pest="blackfly", pest_fix="pinch out the infested tips and spray with soapy water", harvest="when the pods are about 20 cm long and before the beans bulge",
         para_water="how much moisture do climbing pod plants want once the blossom appears"),
    dict(name="courgettes", one="courgette", month="May", depth="2.5 cm", spacing="90 cm", days="five to eight days", sun="full sun",
         water="heavily around the base once a week", feed="a tomato feed every ten days once fruit forms",
         pest="powdery mildew", pest_fix="water at the roots and remove the worst leaves", harvest="when they are about 10 cm long",
         para_water="watering schedule for zucchini"),
    dict(name="lettuce", one="lettuce", month="March", depth="1 cm", spacing="25 cm", days="seven to ten days", sun="partial shade in midsummer",
         water="little and often", feed="nothing beyond compost dug in before sowing",
         pest="slugs", pest_fix="lay beer traps and collect slugs after dark", harvest="by cutting the outer leaves as soon as they are big enough",
         para_water="my salad greens keep wilting, how should I moisten them"),
    dict(name="strawberries", one="strawberry", month="September", depth="crown level with the soil surface", spacing="35 cm", days="not applicable, as they are grown from runners", sun="full sun",
         water="regularly while the fruit swells", feed="a high-potash feed every two weeks during flowering",
         pest="grey mould", pest_fix="tuck straw under the fruit and pick off rotten berries", harvest="when the berries are red all over",
         para_water="how do I hydrate the berry patch while the fruit is growing"),
    dict(name="potatoes", one="potato", month="April", depth="12 cm", spacing="30 cm", days="two to three weeks", sun="full sun",
         water="once the tubers start forming, when the plants flower", feed="a balanced granular fertiliser at planting",
         pest="potato blight", pest_fix="cut the foliage to the ground and wait two weeks before lifting", harvest="when the flowers open for earlies, or when the foliage dies back for maincrops",
         para_water="when do spuds need irrigating"),
    dict(name="onions", one="onion", month="March", depth="2 cm", spacing="10 cm", days="10 to 14 days", sun="full sun",
         water="only in very dry weather, and stop once the bulbs swell", feed="a nitrogen-rich feed in early summer",
         pest="onion white rot", pest_fix="lift and burn affected plants and grow onions elsewhere for eight years", harvest="when the tops flop over and turn yellow",
         para_water="do bulb crops need a hose in summer"),
    dict(name="sweet peppers", one="pepper", month="February", depth="1 cm", spacing="40 cm", days="two to three weeks", sun="a warm greenhouse or the sunniest wall",
         water="when the top of the compost feels dry", feed="a high-potash feed every week once the first fruits set",
         pest="aphids", pest_fix="squash them by hand or release ladybirds in the greenhouse", harvest="when the fruit turns red, or earlier while green",
         para_water="how much moisture do capsicums in the glasshouse want"),
]
GARDEN_FILLER = [
    "Mulching with compost keeps the soil moist and smothers weeds.",
    "Rotate crops each year so that soil-borne diseases do not build up.",
    "A soil thermometer is a cheap way to avoid sowing too early.",
    SHARED_REMARKS[2],
    "Raised beds warm up faster in spring and drain well after heavy rain.",
]
for i, pl in enumerate(PLANTS, 1):
    doc_id, title = f"garden-{i:02d}", f"Growing {pl['name']}"
    n, one = pl["name"], pl["one"]
    p1 = add_passage(doc_id, "gardening", title, pick([
        f"Sow {n} in {pl['month']}. Place each seed {pl['depth']} deep in fine, moist compost. Germination takes {pl['days']} at a steady temperature. {filler(GARDEN_FILLER)}",
        f"The best month to sow {n} is {pl['month']}. Seeds go {pl['depth']} deep, and seedlings appear after {pl['days']}. {filler(GARDEN_FILLER)}",
    ]))
    p2 = add_passage(doc_id, "gardening", title, pick([
        f"Give {n} {pl['sun']} and space the plants {pl['spacing']} apart. Crowded plants compete for light and stay small. {filler(GARDEN_FILLER)}",
        f"Plant {n} {pl['spacing']} apart in {pl['sun']}. Good spacing lets air move between the plants and keeps leaves dry. {filler(GARDEN_FILLER)}",
    ]))
    p3 = add_passage(doc_id, "gardening", title, pick([
        f"Water {n} {pl['water']}. For feeding, use {pl['feed']}. Uneven watering causes split or misshapen crops. {filler(GARDEN_FILLER)}",
        f"{n[0].upper() + n[1:]} need watering {pl['water']}. They respond well to {pl['feed']}. {filler(GARDEN_FILLER)}",
    ]))
    p4 = add_passage(doc_id, "gardening", title, pick([
        f"The main problem with {n} is {pl['pest']}. To control it, {pl['pest_fix']}. Check the plants every few days so that problems are caught early.",
        f"Watch your {n} for {pl['pest']}. The remedy is simple: {pl['pest_fix']}. {filler(GARDEN_FILLER)}",
    ]))
    p5 = add_passage(doc_id, "gardening", title, pick([
        f"Harvest {n} {pl['harvest']}. Picking regularly encourages the plants to keep producing. {filler(GARDEN_FILLER)}",
        f"{n[0].upper() + n[1:]} are ready to pick {pl['harvest']}. Use them fresh for the best flavour. {filler(GARDEN_FILLER)}",
    ]))
    add_query("keyword", f"how deep to sow {n} seeds", [p1])
    add_query("keyword", f"{n} {pl['pest']}", [p4])
    add_query("paraphrase", pl["para_water"], [p3])
    add_question(f"In which month should {n} be sown?", pl["month"], [p1])
    add_question(f"How far apart should {n} be planted?", pl["spacing"], [p2])
    add_question(f"What is the main pest or disease of {n}?", pl["pest"], [p4])
    add_question(f"How often should {n} be watered?", pl["water"], [p3])
    add_question(f"When are {n} ready to harvest?", pl["harvest"], [p5])
for month in ("March", "April", "May"):
    rel = [p["id"] for p in passages if p["topic"] == "gardening" and f" {month}" in p["text"]]
    add_query("multi", f"vegetables to sow in {month}", rel)
rel = [p["id"] for p in passages if p["topic"] == "gardening" and "full sun" in p["text"]]

# ---------------------------------------------------------------------------------------------------------------
# 3. Cooking
# ---------------------------------------------------------------------------------------------------------------
DISHES = [
    dict(name="sourdough loaf", temp="240 °C", time="40 minutes", key="an active starter that doubles within six hours",
         mistake="a dense, gummy crumb", cause="under-proofing the dough", store="two days in a linen bag",
         para="why is the inside of my wild-yeast bread heavy and sticky"),
    dict(name="mushroom risotto", temp="a gentle simmer", time="18 minutes", key="short-grain arborio rice",
         mistake="a gluey texture", cause="rinsing the rice or stirring too hard", store="one day in the fridge",
         para="my creamy Italian rice dish came out like glue"),
    dict(name="roast chicken", temp="200 °C", time="20 minutes per 500 g plus 20 minutes", key="a dry-brined bird left uncovered overnight",
         mistake="pale, rubbery skin", cause="putting the bird in the oven wet", store="three days in the fridge",
         para="how do I get the skin on a baked bird crisp instead of flabby"),
    dict(name="lentil soup", temp="a low simmer", time="25 minutes", key="red lentils, which collapse as they cook",
         mistake="a flat, dull taste", cause="forgetting acid at the end", store="four days in the fridge or three months frozen",
         para="my pulse broth tastes bland, what is missing"),
    dict(name="crème caramel", temp="150 °C in a water bath", time="45 minutes", key="a caramel taken to deep amber",
         mistake="a custard full of little holes", cause="baking too hot without a water bath", store="two days in the fridge",
         para="why does my set custard dessert have bubbles through it"),
    dict(name="vegetable stir-fry", temp="the highest heat your hob gives", time="5 minutes", key="a wok heated until it smokes",
         mistake="soggy, steamed vegetables", cause="crowding the pan", store="one day in the fridge",
         para="my wok dish turns out limp and watery"),
    dict(name="shortbread", temp="160 °C", time="25 minutes", key="cold butter and rice flour",
         mistake="biscuits that spread and lose their shape", cause="warm dough", store="two weeks in an airtight tin",
         para="my buttery Scottish biscuits flatten out in the oven"),
    dict(name="Yorkshire puddings", temp="230 °C", time="20 minutes", key="smoking-hot fat in the tin",
         mistake="flat puddings that do not rise", cause="opening the oven door too early", store="a month in the freezer",
         para="why do my batter puddings stay flat"),
    dict(name="beef stew", temp="150 °C in a covered casserole", time="three hours", key="browning the meat in small batches",
         mistake="tough, chewy meat", cause="cooking it too briefly or too hot", store="three days in the fridge or three months frozen",
         para="why is the braised steak in my casserole still hard to chew"),
    dict(name="pancakes", temp="a medium-hot pan", time="one minute per side", key="a batter rested for thirty minutes",
         mistake="rubbery pancakes", cause="beating the batter too much", store="two days in the fridge, separated by baking paper",
         para="my crepes are like rubber"),
]
COOK_FILLER = [
    SHARED_REMARKS[6],
    "Read the whole recipe before you start and set everything out.",
    "Oven thermostats are often wrong by ten degrees, so an oven thermometer helps.",
    "Taste as you go and season in small steps.",
]
for i, d in enumerate(DISHES, 1):
    doc_id, title = f"cook-{i:02d}", f"How to make {d['name']}"
    n = d["name"]
    p1 = add_passage(doc_id, "cooking", title, pick([
        f"The secret of a good {n} is {d['key']}. Everything else in the recipe matters less. {filler(COOK_FILLER)}",
        f"For {n}, start with {d['key']}. Cooks who skip this step rarely get the classic result. {filler(COOK_FILLER)}",
    ]))
    p2 = add_passage(doc_id, "cooking", title, pick([
        f"Cook the {n} at {d['temp']} for {d['time']}. Check it a few minutes before the end. {filler(COOK_FILLER)}",
        f"A {n} needs {d['time']} at {d['temp']}. Resting it briefly afterwards makes it easier to serve. {filler(COOK_FILLER)}",
    ]))
    p3 = add_passage(doc_id, "cooking", title, pick([
        f"If your {n} ends up with {d['mistake']}, the usual cause is {d['cause']}. Correct that and try again.",
        f"The commonest failure with a {n} is {d['mistake']}. It almost always comes from {d['cause']}. {filler(COOK_FILLER)}",
    ]))
    remark = filler(COOK_FILLER)  # one draw, whichever phrasing: the phrasing goes by position, not by rng
    p4 = add_passage(doc_id, "cooking", title, [
        f"Leftover {n} keeps for {d['store']}. Cool it quickly and cover it well. {remark}",
        f"Any {n} you do not eat keeps for {d['store']}. {remark}",
        f"Made ahead, {n} keeps for {d['store']}; reheat only the portion you need. {remark}",
    ][i % 3])
    add_query("keyword", f"{n} oven temperature and cooking time", [p2])
    add_query("paraphrase", d["para"], [p3])
    add_query("keyword", f"storing leftover {n}", [p4])
    add_question(f"What is the key to a good {n}?", d["key"], [p1])
    add_question(f"How long does a {n} cook for?", d["time"], [p2])
    add_question(f"What causes {d['mistake']} in a {n}?", d["cause"], [p3])
    add_question(f"How long does leftover {n} keep?", d["store"], [p4])

# ---------------------------------------------------------------------------------------------------------------
# 4. Astronomy
# ---------------------------------------------------------------------------------------------------------------
SKY = [
    dict(name="Mars", what="the fourth planet from the Sun", fact="two small moons, Phobos and Deimos", feature="Olympus Mons, the tallest volcano in the Solar System",
         see="around opposition, roughly every 26 months, when it shines orange-red all night", para="when is the red planet easiest to spot"),
    dict(name="Jupiter", what="the largest planet in the Solar System", fact="a day lasting just under ten hours", feature="the Great Red Spot, a storm wider than Earth",
         see="with binoculars, which show its four Galilean moons as points of light", para="what is that enormous long-lived storm on the gas giant"),
    dict(name="Saturn", what="the sixth planet from the Sun", fact="an average density lower than water", feature="rings made mostly of water ice",
         see="with a small telescope at 50x magnification, enough to show the rings", para="what are the bands circling the ringed planet made of"),
    dict(name="Venus", what="the second planet from the Sun", fact="a surface temperature of about 465 °C", feature="a rotation so slow that its day is longer than its year",
         see="shortly after sunset or before sunrise as the brightest point in the sky after the Moon", para="the morning star, when can I see it"),
    dict(name="the Moon", what="Earth's only natural satellite", fact="an average distance of 384,400 km from Earth", feature="the same face always turned towards Earth because of tidal locking",
         see="best along the terminator, the line between day and night, where shadows show the craters", para="why do we never see the far side of our satellite"),
    dict(name="Halley's Comet", what="a periodic comet", fact="an orbital period of about 76 years", feature="a nucleus about 15 km long, photographed by the Giotto probe in 1986",
         see="next in 2061, when it returns to the inner Solar System", para="when will the famous comet come back"),
    dict(name="the Andromeda Galaxy", what="the nearest large spiral galaxy", fact="a distance of about 2.5 million light years", feature="a collision course with the Milky Way in about 4.5 billion years",
         see="from a dark site in autumn as a faint smudge to the naked eye", para="will our galaxy crash into its big neighbour"),
    dict(name="the Orion Nebula", what="a stellar nursery in the constellation Orion", fact="a distance of about 1,344 light years", feature="the Trapezium, a tight cluster of four young hot stars",
         see="in the winter sky as the fuzzy middle star of Orion's sword", para="where are new stars being born that I can see in winter"),
]
SKY_FILLER = [
    "Let your eyes adapt to the dark for twenty minutes before observing.",
    "A red torch preserves night vision while you read a star chart.",
    "Light pollution hides faint objects, so a rural site helps.",
    SHARED_REMARKS[2],
]
for i, s in enumerate(SKY, 1):
    doc_id = f"astro-{i:02d}"
    n = s["name"]
    N = n[0].upper() + n[1:]
    title = f"Observing {n}"
    p1 = add_passage(doc_id, "astronomy", title, f"{N} is {s['what']}. It has {s['fact']}. {filler(SKY_FILLER)}")
    p2 = add_passage(doc_id, "astronomy", title, pick([
        f"The best-known feature of {n} is {s['feature']}. " + ["Telescopes and space probes have both studied it.",
                                                                "It shows up in almost every photograph taken through a telescope.",
                                                                "Observatories still publish new images of it."][i % 3],
        f"{N} is famous for {s['feature']}. {filler(SKY_FILLER)}",
    ]))
    p3 = add_passage(doc_id, "astronomy", title, f"To observe {n}, look {s['see']}. {filler(SKY_FILLER)}")
    add_passage(doc_id, "astronomy", title, pick([
        f"Photographing {n} is easier than many people think. A phone held to the eyepiece of a telescope can work, and stacking many short exposures sharpens the result. {filler(SKY_FILLER)}",
        f"Sketching {n} at the eyepiece trains the eye to notice detail. Note the date, time and instrument beside each drawing. {filler(SKY_FILLER)}",
    ]))
    add_query("keyword", f"how to observe {n}", [p3])
    add_query("paraphrase", s["para"], [p2] if "feature" in s["para"] or i in (2, 3, 5, 7) else [p3])
    add_question(f"What is {n}?", s["what"], [p1])
    add_question(f"What is {n} best known for?", s["feature"], [p2])
    add_question(f"How can I observe {n}?", s["see"], [p3])

# ---------------------------------------------------------------------------------------------------------------
# 5. Personal finance
# ---------------------------------------------------------------------------------------------------------------
FIN = [
    dict(name="an emergency fund", what="cash kept aside for unexpected costs such as a broken boiler or job loss", rule="three to six months of essential spending",
         mistake="investing it in shares that may fall just when you need the money", para="how big should my rainy-day savings pot be"),
    dict(name="an index fund", what="a fund that tracks a whole market instead of picking shares", rule="an annual fee below 0.25 percent",
         mistake="selling in a panic when the market drops", para="cheap passive investing that follows the whole stock market"),
    dict(name="a credit score", what="a number lenders use to judge how likely you are to repay", rule="keeping card balances below 30 percent of the limit",
         mistake="missing a single payment, which stays on the file for six years", para="how do lenders decide if I am trustworthy"),
    dict(name="compound interest", what="interest earned on earlier interest as well as on the original sum", rule="the rule of 72: divide 72 by the rate to find the years needed to double",
         mistake="starting late, because the early years do the most work", para="how long until my money doubles"),
    dict(name="a 50/30/20 budget", what="a plan that splits take-home pay into needs, wants and savings", rule="50 percent on needs, 30 percent on wants and 20 percent on savings",
         mistake="counting every want as a need", para="a simple way to divide my monthly salary"),
    dict(name="a workplace pension", what="a retirement plan your employer pays into alongside you", rule="contributing at least enough to get the full employer match",
         mistake="opting out and giving up free money from the employer", para="my boss offers to add to my retirement savings, should I join"),
    dict(name="inflation", what="the general rise in prices that erodes what money can buy", rule="a central bank target of about 2 percent a year",
         mistake="keeping long-term savings in cash that earns less than prices rise", para="why does the same shopping basket cost more every year"),
    dict(name="a fixed-rate mortgage", what="a home loan whose interest rate stays the same for an agreed term", rule="a deposit of at least 10 percent of the price",
         mistake="ignoring the early repayment charge when switching deals", para="a home loan where the monthly payment never changes"),
]
FIN_FILLER = [
    "This is general information, not personal financial advice.",
    "Rules differ between countries, so check the ones where you live.",
    "Automating transfers on payday makes good habits easier to keep.",
    SHARED_REMARKS[4],
    "Review the decision once a year or when your circumstances change.",
]
for i, f in enumerate(FIN, 1):
    doc_id = f"fin-{i:02d}"
    n = f["name"]
    bare = n.split(" ", 1)[1] if n.startswith(("a ", "an ")) else n
    title = f"Understanding {bare}"
    p1 = add_passage(doc_id, "personal finance", title, f"{bare[0].upper() + bare[1:]} is {f['what']}. {filler(FIN_FILLER)}")
    p2 = add_passage(doc_id, "personal finance", title, pick([
        f"A useful rule of thumb for {bare} is {f['rule']}. It is a starting point rather than a law.",
        f"When it comes to {bare}, aim for {f['rule']}. {filler(FIN_FILLER)}",
    ]))
    remark = filler(FIN_FILLER)
    p3 = add_passage(doc_id, "personal finance", title, [
        f"The classic mistake with {bare} is {f['mistake']}. {remark}",
        f"Where people go wrong with {bare} is {f['mistake']}. {remark}",
        f"A costly error with {bare} is {f['mistake']}. {remark}",
        f"Financial advisers see the same slip with {bare} again and again: {f['mistake']}. {remark}",
    ][i % 4])
    add_passage(doc_id, "personal finance", title, pick([
        f"Before making decisions about {bare}, list your monthly income and fixed costs. Knowing where the money goes is the first step. {filler(FIN_FILLER)}",
        f"Questions about {bare} come up often in money forums. Comparing offers from several providers usually pays off. {filler(FIN_FILLER)}",
    ]))
    add_query("keyword", f"{bare} rule of thumb", [p2])
    add_query("paraphrase", f["para"], [p2] if i in (1, 4, 5) else [p1])
    add_question(f"What is {bare}?", f["what"], [p1])
    add_question(f"What is the rule of thumb for {bare}?", f["rule"], [p2])
    add_question(f"What is the classic mistake with {bare}?", f["mistake"], [p3])

# ---------------------------------------------------------------------------------------------------------------
# 6. Bicycle maintenance (part names and numbers)
# ---------------------------------------------------------------------------------------------------------------
BIKE = [
    dict(name="chain", wear="when a chain checker shows 0.5 percent stretch on an 11-speed drivetrain", tool="a chain checker and a quick-link plier",
         symptom="skipping under load", cause="a worn chain on a worn cassette", para="pedals slip forward suddenly when I push hard"),
    dict(name="disc brake pads", wear="when the friction material is thinner than 1.5 mm", tool="a 2.5 mm hex key and a pad spreader",
         symptom="a squeal when braking", cause="contaminated pads, usually from oil on the rotor", para="my stoppers screech going downhill"),
    dict(name="tyres", wear="when the tread indicator holes have worn away or the casing shows through", tool="two tyre levers and a track pump",
         symptom="frequent punctures", cause="under-inflation, which lets the tube pinch on the rim", para="why do I keep getting flats"),
    dict(name="rear derailleur", wear="when the jockey wheels have hooked teeth", tool="a 5 mm hex key and a cable cutter",
         symptom="slow, noisy shifting to larger sprockets", cause="low cable tension, fixed by turning the barrel adjuster anticlockwise", para="gear changes are sluggish going up the block"),
    dict(name="headset", wear="when the bearings feel notchy as you turn the bars", tool="a 5 mm hex key and waterproof grease",
         symptom="a knocking when the front brake is applied", cause="a loose headset preload", para="there is a clunk at the front when I squeeze the lever"),
    dict(name="spokes", wear="when a spoke breaks or the rim needs frequent truing", tool="a spoke key of the right size and a truing stand",
         symptom="a wobble in the wheel", cause="uneven spoke tension", para="my wheel is not running straight"),
    dict(name="saddle height", wear="whenever you change shoes or pedals", tool="a 5 mm hex key and a tape measure",
         symptom="pain at the front of the knee", cause="a saddle set too low", para="my kneecaps ache after long rides"),
    dict(name="tubeless sealant", wear="every three to six months, as the liquid dries out", tool="a valve core remover and a syringe",
         symptom="slow air loss overnight", cause="dried-up sealant that no longer plugs small holes", para="the goo inside my wheels seems to have stopped working"),
]
BIKE_FILLER = [
    "A clean bike is easier to inspect, so wash it before servicing.",
    "Torque settings are printed on most components; a torque wrench prevents damage.",
    SHARED_REMARKS[1],
    "A few drops of the right lubricant prevent most squeaks.",
    "Check the quick-release levers and thru-axles before every ride.",
]
for i, b in enumerate(BIKE, 1):
    doc_id = f"bike-{i:02d}"
    n = b["name"]
    title = f"Bike maintenance: {n}"
    p1 = add_passage(doc_id, "bicycle maintenance", title, f"Replace or service the {n} {b['wear']}. You will need {b['tool']}. {filler(BIKE_FILLER)}")
    add_passage(doc_id, "bicycle maintenance", title, pick([
        f"Working on the {n} at home saves money. Put the bike in a work stand, keep the parts in order on a rag, and take a photo before you take anything apart. {filler(BIKE_FILLER)}",
        f"Many riders take the {n} to a shop, but the job is within reach of a beginner with patience. Follow the manufacturer's instructions and check everything twice before riding. {filler(BIKE_FILLER)}",
    ]))
    p2 = add_passage(doc_id, "bicycle maintenance", title, pick([
        f"{b['symptom'][0].upper() + b['symptom'][1:]} is usually caused by {b['cause']}. Check the {n} first. {filler(BIKE_FILLER)}",
        f"If you notice {b['symptom']}, look at the {n}: the usual culprit is {b['cause']}. {filler(BIKE_FILLER)}",
    ]))
    add_query("keyword", f"when to replace bike {n}", [p1])
    add_query("paraphrase", b["para"], [p2])
    add_question(f"When should the {n} be replaced or serviced?", b["wear"], [p1])
    add_question(f"What usually causes {b['symptom']} on a bike?", b["cause"], [p2])

# More queries with several relevant passages, across entities of one topic.
for kind, query, needle in [("cooking", "dishes that can be frozen for three months", "three months frozen"),
                            ("bicycle maintenance", "bike jobs that need a 5 mm hex key", "a 5 mm hex key"),
                            ("gardening", "crops that need a high-potash feed", "high-potash"),
                            ("astronomy", "objects whose distance is measured in light years", "light years")]:
    add_query("multi", query, [p["id"] for p in passages if p["topic"] == kind and needle in p["text"]])

# ---------------------------------------------------------------------------------------------------------------
# Overlap between topics. Real collections do not fall apart into clean topics: a recipe mentions the garden, a
# budget mentions a bike. Passages that touch two topics (labelled with their document's topic) and remarks any
# topic could hold keep clustering from scoring itself. A stream of its own, so that everything above is unchanged.
# ---------------------------------------------------------------------------------------------------------------
mix = random.Random(SEED + 1)
BRIDGES = [  # (document, second topic, a passage about the document's entity that draws on the second topic)
    ("tech-04", "gardening", "Gardeners use the Halcyon T3 to keep a greenhouse above 10 °C, so that tomato and pepper seedlings survive "
                "cold spring nights; switch on its frost alarm before the first sowing."),
    ("tech-11", "cooking", "The Fennick CM-3 makes espresso for baking as well as for drinking: a shot lifts a chocolate cake or a "
                "tiramisu. Descale it every month with citric acid, because hard water spoils the coffee and the heater."),
    ("tech-12", "personal finance", "A Solace UPS-1500 costs money up front, but in a home office it can save the income of a lost working day. "
                "Budget for a replacement battery every three to five years."),
    ("tech-05", "astronomy", "An astronomy club can plug a telescope camera into the Vantor X9 projector, so that everyone watches the "
                "craters of the Moon and the rings of Saturn on one big screen."),
    ("garden-01", "cooking", "A glut of ripe tomatoes is best turned into sauce: simmer them slowly with garlic and olive oil, season at "
                  "the end and freeze the sauce in portions for winter cooking."),
    ("garden-03", "cooking", "Home-grown garlic tastes milder than shop-bought bulbs. Roast whole heads in the oven at 180 °C for "
                  "45 minutes and spread the soft cloves on bread."),
    ("garden-08", "personal finance", "Growing potatoes on an allotment is cheap: seed potatoes and a year's rent can return a winter's supply, "
                  "although the money saved is small once you count the hours of digging."),
    ("cook-04", "personal finance", "Lentil soup is among the cheapest meals you can cook: a whole pot costs less than one takeaway, which is why "
                "it is a staple of tight monthly budgets and student savings plans."),
    ("cook-06", "gardening", "The best vegetables for a stir-fry come straight from the garden: pick courgettes, peppers and spring "
                "onions young, and slice them thinly so that they cook evenly."),
    ("cook-08", "device troubleshooting", "An oven whose temperature sensor has failed ruins Yorkshire puddings. If the display shows an error code or "
                "the oven runs cold, check the thermostat before blaming the batter."),
    ("astro-05", "gardening", "Some gardeners sow seeds by the phases of the Moon, but trials find no effect on germination: the Moon's "
                 "pull on the water in garden soil is far too weak to matter."),
    ("astro-03", "device troubleshooting", "Cold nights drain the batteries of telescope mounts and cameras quickly. A dew heater and a charged power "
                 "bank keep the equipment running while you watch Saturn's rings."),
    ("astro-07", "bicycle maintenance", "Many riders cycle out to a dark-sky site. Pack a red rear light and small binoculars, and look for the "
                 "Andromeda Galaxy before riding home."),
    ("fin-01", "device troubleshooting", "An emergency fund is what pays when the boiler, the washing machine or the laptop breaks down; repairs to "
               "household appliances are the most common unplanned costs."),
    ("fin-05", "cooking", "Food is usually the largest flexible item in a 50/30/20 budget. Cooking at home in batches and freezing "
               "portions cuts it more than any other habit."),
    ("fin-03", "bicycle maintenance", "Buying a bicycle on credit or through a cycle-to-work scheme affects your credit score only if you miss "
               "the monthly payments."),
    ("bike-01", "personal finance", "Replacing a chain early saves money: a new chain costs a fraction of a worn cassette and chainrings, so a "
                "cheap chain checker soon pays for itself."),
    ("bike-02", "device troubleshooting", "Electric bikes add a battery, a motor and a display that shows error codes. Their brake pads wear faster "
                "because of the extra weight, so check them more often."),
    ("bike-03", "gardening", "Thorny hedge cuttings cause many punctures in autumn. Sweep the path after pruning the garden, and check "
                "the tyres for embedded thorns after riding past freshly cut hedges."),
]
for p in passages:
    if mix.random() < 0.3:
        p["text"] += " " + mix.choice(SHARED_REMARKS)
topic_of = {p["doc_id"]: (p["topic"], p["title"]) for p in passages}
for doc_id, second, text in BRIDGES:
    add_passage(doc_id, topic_of[doc_id][0], topic_of[doc_id][1],
                text + (" " + mix.choice(SHARED_REMARKS) if mix.random() < 0.3 else ""), second_topic=second)

# ---------------------------------------------------------------------------------------------------------------
# Unanswerable questions: off-topic, and in-domain about things the corpus does not cover.
# ---------------------------------------------------------------------------------------------------------------
UNANSWERABLE = [
    "Who wrote the novel Pride and Prejudice?", "What is the capital city of Peru?", "How many players are on a rugby union team?",
    "Which element has the chemical symbol Au?", "Who painted the ceiling of the Sistine Chapel?", "What year did the Berlin Wall fall?",
    "How do you conjugate the French verb aller?", "What is the offside rule in ice hockey?", "Which ocean is the deepest?",
    "How long is a marathon in kilometres?", "What is the plot of Hamlet?", "Who invented the telephone?",
    "When should okra be sown?", "What does error Z-404 mean on the Zephyr Q1 scanner?", "How long should a pavlova bake?",
    "How far away is Neptune?", "What is a capital gains tax allowance?", "How do I adjust a hub gear on a Dutch bike?",
    "What is the best fertiliser for orchids?", "How many moons does Uranus have?", "What causes a bitter espresso?",
    "How do I service a suspension fork?", "What is a stocks and shares ISA?", "How do I reset the Aurelia S5 smartwatch?",
]

# ---------------------------------------------------------------------------------------------------------------
# Splits and files
# ---------------------------------------------------------------------------------------------------------------
rng.shuffle(questions)
answerable = questions[:120]  # dev 60 / test 60
rows = []
for j, q in enumerate(answerable):
    rows.append({**q, "answerable": True, "split": "dev" if j % 2 == 0 else "test"})
for j, q in enumerate(UNANSWERABLE):
    rows.append({"question": q, "answer": None, "support": [], "answerable": False, "split": "dev" if j % 2 == 0 else "test"})
rng.shuffle(rows)
rows.sort(key=lambda r: r["split"])  # dev first, order within a split shuffled
for j, r in enumerate(rows, 1):
    r["qid"] = f"{r['split']}-{j:03d}"
rows = [{"qid": r["qid"], "split": r["split"], "question": r["question"], "answer": r["answer"],
         "support": r["support"], "answerable": r["answerable"]} for r in rows]


def write(name, items):
    with open(HERE / name, "w") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


write("kb_passages.jsonl", passages)
write("kb_queries.jsonl", queries)
write("kb_questions.jsonl", rows)
if __name__ == "__main__":
    from collections import Counter
    print(len(passages), "passages", dict(Counter(p["topic"] for p in passages)))
    print(len(queries), "queries", dict(Counter(q["kind"] for q in queries)))
    print(len(rows), "questions", dict(Counter((r["split"], r["answerable"]) for r in rows)))
