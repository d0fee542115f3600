"""Similarity report: pairs of students whose answer cells share far more code than the class does.

For each assignment and answer cell (nbgrader metadata `solution: true` in the submitted notebook), every
answer is normalised by Python's tokenizer (identifiers become one token, builtins, keywords, operators,
attribute names and numbers stay; comments, whitespace and string literals go), cut into k-grams of tokens,
hashed and winnowed (the minimum hash of each window of w k-grams: the MOSS method, Schleimer, Wilkerson
and Aiken 2003). Fingerprints of the release notebook's own cell (stub, signature, docstring) are dropped,
and so are those more students share than `Options.common` allows (the obvious solution). An inverted index
from fingerprint to students gives every pair's shared count; a pair's fraction is its shared count over
the smaller answer's own fingerprints (neither the stub's nor the class's), and its score a robust z-score
(median and MAD of all pairs of the cell, those sharing nothing included).

Writes grading/similarity.csv and, per flagged pair,
grading/similarity/<assignment>/<notebook>/<cell>/<a>__<b>.html with the matching lines side by side. It is a pointer for a human: it never changes a grade.
Submissions are read as the grader reads them (intake.read_submission: never through a symlink).
"""
import builtins
import csv
import html
import json
import logging
import re
import shutil
import tokenize
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from io import StringIO
from itertools import combinations
from keyword import iskeyword
from pathlib import Path

import numpy as np

from .course import Course
from .intake import read_submission, submissions

log = logging.getLogger(__name__)

BUILTINS = frozenset(dir(builtins))
KEPT = (tokenize.NAME, tokenize.NUMBER, tokenize.OP)  # comments, strings, newlines, indents: dropped
MAX_CELL = 100_000  # characters of one answer read


@dataclass(frozen=True)
class Options:
    k: int = 5                # tokens per k-gram
    window: int = 4           # k-grams per winnowing window
    share: float = 0.5        # a fingerprint more than this fraction of the class holds is the obvious solution,
    common: int = 10          # ... and so is one more than max(common, common_share * class) students hold
    common_share: float = 0.02  # (MOSS's -m, 10 by default, grown with the class)
    min_fraction: float = 0.6  # a flagged pair shares at least this fraction of the smaller answer
    min_shared: int = 8       # ... and at least this many fingerprints (short answers look alike anyway)
    min_z: float = 4.0        # ... and lies this many robust standard deviations above the cell's median
    mad_floor: float = 0.05   # the smallest spread a score divides by (most pairs share nothing: MAD 0)


@dataclass(frozen=True)
class Token:
    text: str
    line: int                 # 1-based line of the cell source


@dataclass
class Answer:
    """One student's answer cell: its source and fingerprints (hash -> the lines its k-gram's tokens are on)."""
    student: str
    source: str
    prints: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """Two answers of one cell that share fingerprints, as compare() scores them."""
    a: Answer
    b: Answer
    shared: int               # fingerprints both hold, neither the stub's nor the class's
    fraction: float           # shared over the smaller answer's own fingerprints
    score: float              # robust z-score of the fraction among all pairs of the cell
    flagged: bool


@dataclass(frozen=True)
class Pair:
    """One row of similarity.csv."""
    assignment: str
    notebook: str
    cell: str
    student_a: str
    student_b: str
    shared: int
    fraction: float
    score: float
    flagged: bool
    page: str = ""


def normalise(source: str) -> list[Token]:
    """The tokens that identify code, whatever the names, comments, layout and strings (a cell that does not
    tokenize to the end keeps the tokens before the error)."""
    tokens, previous = [], ""
    try:
        for tok in tokenize.generate_tokens(StringIO(source).readline):
            if tok.type not in KEPT:
                continue
            text = tok.string
            if tok.type == tokenize.NAME and not iskeyword(text) and text not in BUILTINS and previous != ".":
                text = "V"
            tokens.append(Token(text, tok.start[0]))
            previous = tok.string
    except (tokenize.TokenError, SyntaxError):  # unterminated brackets or strings, bad dedents: keep what came
        pass
    return tokens


def kgrams(tokens: list[Token], k: int) -> list[int]:
    """A stable hash of each k-gram of tokens (the same in every process: token ids are CRC-32s)."""
    ids = [zlib.crc32(t.text.encode()) for t in tokens]
    return [hash(tuple(ids[i:i + k])) for i in range(len(ids) - k + 1)]


def winnow(hashes: list[int], window: int) -> list[int]:
    """Positions of the fingerprints: the rightmost minimum of every window of `window` hashes."""
    if not hashes:
        return []
    if len(hashes) <= window:
        low = min(hashes)
        return [len(hashes) - 1 - hashes[::-1].index(low)]
    chosen = set()
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        low = min(part)
        chosen.add(start + window - 1 - part[::-1].index(low))
    return sorted(chosen)


def fingerprints(source: str, options: Options, exclude: frozenset = frozenset()) -> dict[int, tuple[int, ...]]:
    """Winnowed fingerprints of a cell, those in `exclude` left out: hash -> the lines of its tokens."""
    tokens = normalise(source)
    hashes = kgrams(tokens, options.k)
    prints: dict[int, tuple[int, ...]] = {}
    for i in winnow(hashes, options.window):
        if hashes[i] not in exclude:
            prints.setdefault(hashes[i], tuple(sorted({t.line for t in tokens[i:i + options.k]})))
    return prints


def answer_cells(text: str | None) -> dict[str, str]:
    """grade_id -> source of the code answer cells of a notebook (nbformat JSON); {} when it is not one."""
    try:
        cells = json.loads(text or "{}").get("cells", [])
    except (ValueError, AttributeError):
        return {}
    found = {}
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and meta.get("solution") is True and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            found.setdefault(str(meta.get("grade_id", "")), source[:MAX_CELL])
    return found


def read_answers(course: Course, assignment: str) -> dict[tuple[str, str], dict[str, str]]:
    """(notebook, cell) -> student -> answer source, from grading/submitted (no symlink is followed)."""
    answers: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for student in submissions(course, assignment):
        folder = course.submitted / student / assignment
        if (course.submitted / student).is_symlink() or folder.is_symlink():
            log.warning("%s/%s is a symlink: not read", student, assignment)
            continue
        for notebook in course.notebooks(assignment):
            text, problem = read_submission(folder / f"{notebook}.ipynb")
            if problem:
                log.warning("%s/%s/%s.ipynb %s", student, assignment, notebook, problem)
            for cell, source in answer_cells(text).items():
                answers[(notebook, cell)][student] = source
    return answers


def compare(sources: dict[str, str], stub: str, options: Options = Options()) -> list[Match]:
    """Every pair of one cell's answers (student -> source) that shares a fingerprint, highest score first."""
    stub_hashes = frozenset(kgrams(normalise(stub), options.k))
    answers = [Answer(s, src, fingerprints(src, options, stub_hashes)) for s, src in sorted(sources.items())]
    answers = [a for a in answers if a.prints]
    index: dict[int, list[int]] = defaultdict(list)
    for i, answer in enumerate(answers):
        for h in answer.prints:
            index[h].append(i)
    limit = _common_limit(len(answers), options)
    common = {h for h, holders in index.items() if len(holders) > limit}
    for answer in answers:  # what is left is each answer's own code: neither the stub's nor the class's
        answer.prints = {h: lines for h, lines in answer.prints.items() if h not in common}
    counts: Counter = Counter()
    for h, holders in index.items():
        if h not in common:
            counts.update(combinations(holders, 2))
    fractions = {(i, j): n / max(1, min(len(answers[i].prints), len(answers[j].prints))) for (i, j), n in counts.items()}
    median, spread = _robust(list(fractions.values()), len(answers) * (len(answers) - 1) // 2, options.mad_floor)
    found = []
    for (i, j), fraction in fractions.items():
        score = (fraction - median) / spread
        flagged = counts[i, j] >= options.min_shared and fraction >= options.min_fraction and score >= options.min_z
        found.append(Match(answers[i], answers[j], counts[i, j], fraction, score, flagged))
    return sorted(found, key=lambda match: -match.score)


def _common_limit(students: int, options: Options) -> float:
    """The most students that may hold a fingerprint before it counts as the class's (at least 2: a pair)."""
    return max(2, min(options.share * students, max(options.common, options.common_share * students)))


def _robust(values: list[float], pairs: int, floor: float) -> tuple[float, float]:
    """Median and MAD-based spread of all pairs' fractions (the pairs that share nothing count as 0)."""
    if pairs <= 0:
        return 0.0, floor
    every = np.concatenate([np.asarray(values, dtype=float), np.zeros(max(0, pairs - len(values)))])
    median = float(np.median(every))
    return median, max(floor, 1.4826 * float(np.median(np.abs(every - median))))


def report(course: Course, assignments: list[str] | None = None, options: Options = Options()) -> list[Pair]:
    """grading/similarity.csv (every pair sharing at least `min_shared` fingerprints) and a page per flagged pair."""
    rows: list[Pair] = []
    pages = course.work / "similarity"
    for assignment in assignments or course.assignments():
        shutil.rmtree(pages / _safe(assignment), ignore_errors=True)  # no page of an earlier run stays behind
        stubs = {}
        for notebook in course.notebooks(assignment):
            release = course.release / assignment / f"{notebook}.ipynb"
            stubs[notebook] = answer_cells(release.read_text() if release.is_file() else None)
        for (notebook, cell), sources in sorted(read_answers(course, assignment).items()):
            for m in compare(sources, stubs[notebook].get(cell, ""), options):
                if m.shared < options.min_shared:
                    continue
                folder = pages / _safe(assignment) / _safe(notebook) / _safe(cell)
                page = str(write_page(folder, assignment, cell, m).relative_to(course.work)) if m.flagged else ""
                rows.append(Pair(assignment, notebook, cell, m.a.student, m.b.student, m.shared, round(m.fraction, 3),
                                 round(m.score, 2), m.flagged, page))
    write_csv(course.work / "similarity.csv", rows)
    log.info("similarity: %d pair(s) flagged of %d listed", sum(p.flagged for p in rows), len(rows))
    return rows


def write_csv(path: Path, rows: list[Pair]) -> Path:
    from .reports import safe_text

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["assignment", "notebook", "cell", "student_a", "student_b", "shared", "fraction", "score",
                      "flagged", "page"])
        for p in sorted(rows, key=lambda p: (not p.flagged, -p.score)):
            out.writerow([p.assignment, p.notebook, safe_text(p.cell), safe_text(p.student_a), safe_text(p.student_b),
                          p.shared, p.fraction, p.score, int(p.flagged), p.page])
    return path


def _safe(name: str) -> str:
    """A file name part from a student id or cell name (nothing that leaves the folder)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:100] or "_"


def _matched_lines(mine: Answer, other: Answer) -> set[int]:
    return {line for h in mine.prints.keys() & other.prints.keys() for line in mine.prints[h]}


def _column(answer: Answer, marked: set[int]) -> str:
    lines = answer.source.splitlines() or [""]
    return "\n".join(f'<tr class="{"m" if n in marked else ""}"><td class="n">{n}</td><td><pre>{html.escape(text)}</pre></td></tr>'
                     for n, text in enumerate(lines, 1))


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title><style>
body{{font-family:sans-serif}} table{{border-collapse:collapse}} td{{vertical-align:top;padding:0 .4em}}
pre{{margin:0}} .n{{color:#888;text-align:right}} tr.m{{background:#ffe08a}} .side{{display:inline-block;
vertical-align:top;margin-right:2em}}</style></head><body><h1>{title}</h1>
<p>{fraction:.0%} of the smaller answer's fingerprints are shared, beyond the release's stub and what the class
shares. Highlighted lines hold shared code. This is a pointer for a human reader: it changes no grade.</p>
<div class="side"><h2>{a}</h2><table>{left}</table></div><div class="side"><h2>{b}</h2><table>{right}</table></div>
</body></html>"""


def write_page(folder: Path, assignment: str, cell: str, match: Match) -> Path:
    """One flagged pair's answers side by side, shared lines highlighted; every student text escaped."""
    a, b, fraction = match.a, match.b, match.fraction
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(a.student)}__{_safe(b.student)}.html"
    path.write_text(PAGE.format(title=html.escape(f"{assignment} / {cell}: {a.student} and {b.student}"),
                                fraction=fraction, a=html.escape(a.student), b=html.escape(b.student),
                                left=_column(a, _matched_lines(a, b)), right=_column(b, _matched_lines(b, a))),
                    encoding="utf-8")
    return path
