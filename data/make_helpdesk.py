"""Generate the engineering help-desk retrieval dataset (helpdesk_passages.csv, helpdesk_queries.csv).

An invented company's internal knowledge base: 16 internal systems, each known by a codename in the
documentation (Kestrel, Marlin, ...) and by an acronym in people's questions (KBS, MDP, ...), and 10 kinds
of problem that every system has (access, stuck jobs, quotas, tokens, latency, rollback, incidents,
retention, configuration, decommissioning). One passage per (system, problem), three queries per passage,
written the way people type into a help channel: acronyms, slang, error codes, never the codename. A general
model can match the problem but not tell which system a query is about; the jargon is what fine-tuning learns.

Split by passage (each query goes with its passage, so no test question or test article is trained on): a
Latin-square assignment gives every system 6 train, 2 dev and 2 test passages and spreads every problem over all
three splits. The three query templates of a problem are shared by all 16 systems, though, so a `test` question is
nearly always a training question with another acronym in it (84 of the 96 are, word for word; the other 12 differ
in one slot word, the system's kind of thing). `test` measures the *seen templates* case. A second test split,
`test_new`, asks about the same 32 test articles with three NEW templates per problem that no train, dev or test
question uses (NEW_TEMPLATES): the held-out templates case, the new wording a real user brings. Its rows come after
the original 480, drawn from their own seeded stream, so the original rows are unchanged.

Run with the course's venv python: `python data/make_helpdesk.py` (seeded, rewrites both files identically).
"""
import csv
import random
from pathlib import Path

SEED = 3
HERE = Path(__file__).resolve().parent

# codename, acronym people use, what a unit of it is called (singular, plural), owning team, help channel,
# numbers for the templates (quota per day, latency alarm in ms, retention in days)
SYSTEMS = [
    ("Kestrel", "KBS", "build", "builds", "Build Infra", "#kestrel-help", 400, 900, 30),
    ("Marlin", "MDP", "deploy", "deploys", "Release Engineering", "#marlin-support", 120, 600, 90),
    ("Quarry", "QDW", "query", "queries", "Data Platform", "#quarry-users", 5000, 2500, 365),
    ("Heron", "HGW", "route", "routes", "Edge Team", "#heron-gateway", 800, 150, 14),
    ("Tallow", "TFF", "flag", "flags", "Experimentation", "#tallow-flags", 300, 80, 180),
    ("Bramble", "BSS", "secret", "secrets", "Security Engineering", "#bramble-secrets", 1000, 200, 60),
    ("Osprey", "OPG", "alert", "alerts", "SRE Tooling", "#osprey-oncall", 2000, 300, 45),
    ("Juniper", "JMQ", "topic", "topics", "Messaging", "#juniper-queues", 250, 50, 7),
    ("Lantern", "LMS", "dashboard", "dashboards", "Observability", "#lantern-metrics", 600, 1200, 400),
    ("Cobalt", "CAS", "artifact", "artifacts", "Build Infra", "#cobalt-artifacts", 10000, 700, 120),
    ("Fennel", "FLA", "log stream", "log streams", "Observability", "#fennel-logs", 150, 1500, 21),
    ("Wren", "WIS", "login", "logins", "Identity", "#wren-sso", 50000, 250, 30),
    ("Sable", "SDB", "database", "databases", "Storage Team", "#sable-postgres", 20, 40, 35),
    ("Tundra", "TOB", "bucket", "buckets", "Storage Team", "#tundra-blobs", 100, 400, 730),
    ("Pico", "PCR", "image", "images", "Container Platform", "#pico-registry", 3000, 500, 60),
    ("Gantry", "GKC", "cluster", "clusters", "Container Platform", "#gantry-k8s", 10, 1000, 90),
]

# One passage template per problem and three query templates.
# Passage slots: {N} codename, {cli} its command, {thing}/{things}, {team}, {chan}, {q}, {ms}, {d}.
# Query slots: {A} acronym (sometimes lower-cased), {thing}/{things}.
PROBLEMS = {
    "access": (
        "{N}: getting access. Request the {cli}-writers role in the access portal; your manager approves it and "
        "permissions sync within 15 minutes. Read-only access to {things} needs no approval.",
        ["{A} gives me 403 forbidden, how do i get perms", "need write access to {A} for my team",
         "who approves {A} access requests"]),
    "stuck": (
        "{N}: a {thing} stuck in pending. A {thing} that stays pending for more than 10 minutes is usually waiting "
        "for a worker lease. Run `{cli} lease release <id>` and resubmit; if it is still pending, post the id in {chan}.",
        ["{A} {thing} hung in pending forever", "{A} stuck, nothing happening for 20 min",
         "how do i unstick a {A} {thing}"]),
    "quota": (
        "{N}: quotas. Each team may create {q} {things} per day. Past that, requests fail with QUOTA_EXCEEDED; "
        "ask {team} for a temporary raise through the capacity form.",
        ["{A} throws QUOTA_EXCEEDED", "hit the limit on {A}, can we get more",
         "{A} throttling us, need a bigger allowance"]),
    "token": (
        "{N}: service tokens. Tokens expire after 90 days. Rotate them with `{cli} token rotate --team <team>` before "
        "they expire; an expired token shows up as an authentication failure in your client logs.",
        ["{A} auth failing since this morning", "rotate creds for {A}", "{A} token expired, what now"]),
    "latency": (
        "{N}: slowness. Check the p99 latency panel on the {N} dashboard first. Spikes above {ms} ms are usually "
        "noisy neighbours; {team} can move your workload to a dedicated pool.",
        ["{A} p99 through the roof", "{A} super slow today", "latency spikes on {A}, noisy neighbour?"]),
    "rollback": (
        "{N}: undoing a bad change. Run `{cli} rollback --to <previous version>`. Rollbacks are audited and need a "
        "ticket number; the previous version stays available for 30 days.",
        ["revert the last {A} change asap", "how do i roll back in {A}", "bad push to {A}, need to go back one version"]),
    "incident": (
        "{N}: incidents and on-call. {team} owns {N}. Page the primary on-call through the escalation policy "
        "{cli}-primary and open a bridge in {chan}; SEV1 and SEV2 need an incident commander.",
        ["{A} is down, who do i page", "SEV2 on {A}, what's the escalation", "who owns {A} outages"]),
    "retention": (
        "{N}: retention. {N} keeps {things} for {d} days and then deletes them. To keep one longer, tag it with "
        "retain=true; storage beyond the team allowance is billed to your cost centre.",
        ["{A} deleted my old {things}", "how long does {A} keep stuff", "keep {A} data longer than the default"]),
    "config": (
        "{N}: configuration. All settings live in the {cli}.yaml file at the root of your repository. Changes are "
        "picked up on the next sync; validate them locally with `{cli} config lint` before merging.",
        ["where is the {A} config", "{A} settings not applied after merge", "validate my {A} yaml"]),
    "decommission": (
        "{N}: decommissioning. Mark the {thing} deprecated with `{cli} deprecate`, wait out the 14-day notice "
        "period, then delete it; {team} removes leftover {things} in the monthly clean-up.",
        ["shut down our {A} stuff", "decommission old {A} {things}", "how to delete unused {A} resources"]),
}

# Three more query templates per problem, used ONLY for the `test_new` split (never in train, dev or test): the same
# problems asked in other words. Slots as above.
NEW_TEMPLATES = {
    "access": ["permission denied when i push to {A}, which role do i need", "onboarding a new hire, how do they get into {A}",
               "my {A} writes are rejected, missing some permission?"],
    "stuck": ["{A} {thing} queued for ages and never starts", "my {A} {thing} won't leave pending",
              "{A} waiting on a worker for half an hour"],
    "quota": ["{A} says we are over our daily limit", "request a capacity bump for {A}",
              "{A} rejecting new {things}, did we run out of quota"],
    "token": ["401 from {A} after the weekend", "{A} service credentials need renewing", "our {A} key stopped working"],
    "latency": ["{A} responses take seconds now", "why is {A} so laggy right now", "{A} timing out under load"],
    "rollback": ["undo yesterday's {A} release", "{A} change broke prod, restore the previous version",
                 "go back to the old {A} version"],
    "incident": ["{A} outage, who is on call", "escalate a {A} problem to the owning team",
                 "{A} totally broken, we need an incident bridge"],
    "retention": ["my {A} {things} disappeared after a while", "{A} auto-deleting data, can we stop it",
                  "how long before {A} purges old {things}"],
    "config": ["which file controls the {A} settings", "{A} yaml change not taking effect",
               "where do i change {A} options"],
    "decommission": ["retire our {A} {things}", "tear down {A} resources we no longer use",
                     "sunset an old {A} {thing}"],
}


def main():
    rng = random.Random(SEED)
    systems = SYSTEMS[:]
    problems = list(PROBLEMS)
    rng.shuffle(systems)
    rng.shuffle(problems)
    passages, queries = [], []
    for s, (name, acr, thing, things, team, chan, q, ms, d) in enumerate(systems):
        for p, problem in enumerate(problems):
            slot = (p + 3 * s) % 10
            split = "train" if slot < 6 else "dev" if slot < 8 else "test"
            template, query_templates = PROBLEMS[problem]
            pid = f"p{len(passages):03d}"
            text = template.format(N=name, cli=name.lower(), thing=thing, things=things, team=team, chan=chan,
                                   q=f"{q:,}", ms=ms, d=d)
            text = text[0].upper() + text[1:]
            passages.append({"pid": pid, "split": split, "system": name, "acronym": acr, "topic": problem, "text": text})
            for qt in query_templates:
                a = acr if rng.random() < 0.7 else acr.lower()
                queries.append({"qid": f"q{len(queries):03d}", "split": split, "pid": pid,
                                "text": qt.format(A=a, thing=thing, things=things)})
    rng.shuffle(queries)
    new_rng = random.Random(SEED + 1)  # its own stream: the rows above stay exactly as they were
    by_name = {system[0]: system for system in SYSTEMS}
    new_queries = []
    for passage in passages:
        if passage["split"] != "test":
            continue
        _, acr, thing, things = by_name[passage["system"]][:4]
        for qt in NEW_TEMPLATES[passage["topic"]]:
            a = acr if new_rng.random() < 0.7 else acr.lower()
            new_queries.append({"split": "test_new", "pid": passage["pid"], "text": qt.format(A=a, thing=thing, things=things)})
    new_rng.shuffle(new_queries)
    queries += [{"qid": f"q{len(queries) + i:03d}", **row} for i, row in enumerate(new_queries)]
    for name, rows in (("helpdesk_passages.csv", passages), ("helpdesk_queries.csv", queries)):
        with open(HERE / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(f"{len(passages)} passages, {len(queries)} queries ({len(new_queries)} of them test_new)")


if __name__ == "__main__":
    main()
