"""Loading and checking rubric files.

Errors name the file, the line, the question id and the field, because the person fixing a
rubric is looking at the YAML, not at a pydantic traceback.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import ValidationError

from interviewer.domain import Question, RubricFile
from interviewer.packaged import data_dir
from interviewer.text import cue_present, words

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RubricError(Exception):
    """A rubric file that cannot be used; the message is meant for the user as is, and
    ``problems`` lists every one found (a file with seven mistakes shows all seven)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def packaged_rubrics_dir() -> Path:
    return data_dir("interviewer.bank", "rubrics")


def packaged_material_dir() -> Path:
    return Path(str(files("interviewer.material")))


def _node_at(node: yaml.Node | None, loc: Sequence[str | int]) -> yaml.Node | None:
    """Walk a composed YAML tree along a pydantic error location, as far as it goes."""
    for key in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            match = [v for k, v in node.value if getattr(k, "value", None) == key]
            if not match:
                # The key itself is the problem (an unknown key): point at the key.
                keys = [k for k, _ in node.value if getattr(k, "value", None) == key]
                return keys[0] if keys else node
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def describe_validation_error(path: Path, text: str, raw: object, exc: ValidationError) -> str:
    """'file:line: question 'id' field a.b: reason' for the first error of a data file."""
    first, *rest = describe_validation_errors(path, text, raw, exc)
    return first + (f" (and {len(rest)} more)" if rest else "")


def describe_validation_errors(path: Path, text: str, raw: object, exc: ValidationError) -> list[str]:
    """One 'file:line: question 'id' field a.b: reason' line per error of a data file."""
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        tree = None
    return [_describe(path, tree, raw, error) for error in exc.errors()]


def _describe(path: Path, tree: object, raw: object, error: dict) -> str:
    loc = list(error["loc"])
    node = _node_at(tree, loc) if tree is not None else None
    line = node.start_mark.line + 1 if node is not None else None
    question_id = None
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        try:
            question_id = raw["questions"][loc[1]].get("id")  # type: ignore[index]
        except (AttributeError, IndexError, KeyError, TypeError):
            question_id = None
    field_path = ".".join(str(p) for p in loc) or "(file)"
    where = f"{path}:{line}" if line else str(path)
    who = f" question '{question_id}'" if question_id else ""
    reason = error["msg"]
    if error["type"] == "extra_forbidden":
        reason = f"unknown key '{loc[-1]}'"
    elif error["type"] == "missing":
        reason = f"missing required field '{loc[-1]}'"
    return f"{where}:{who} field {field_path}: {reason}"


def yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """'file:line: invalid YAML: what' for any data file we load."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}: invalid YAML: {problem}"


MAX_DATA_FILE_BYTES = 5_000_000  # the largest bank rubric is under 100 kB
MAX_NESTING = 40  # levels of lists and mappings; a rubric needs about 8
_BLOCK_PREFIX = re.compile(r"^(?:[ \t]|-[ \t])*")


def nesting_problem(text: str) -> str | None:
    """How the text nests deeper than ``MAX_NESTING``, found before parsing: the parser recurses
    once per level, so a file of 50,000 "[" crashes the process instead of failing."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    if deepest > MAX_NESTING:
        return f"nested {deepest} levels deep in brackets (at most {MAX_NESTING})"
    for number, line in enumerate(text.splitlines(), 1):
        if len(_BLOCK_PREFIX.match(line).group()) > 2 * MAX_NESTING:
            return f"line {number} is indented or list-nested more than {MAX_NESTING} levels deep"
    return None


def read_yaml_mapping(path: Path, error: type[Exception], kind: str, expected: str) -> tuple[str, dict]:
    """The text and parsed mapping of a YAML data file; ``error`` with a located message if not.
    Size and nesting are bounded before parsing."""
    try:
        size = path.stat().st_size
        if size > MAX_DATA_FILE_BYTES:
            raise error(f"{path}: a {kind} file of {size:,} bytes is too large (at most {MAX_DATA_FILE_BYTES:,})")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read {kind} file ({exc})") from None
    too_deep = nesting_problem(text)
    if too_deep:
        raise error(f"{path}: not a {kind} file: {too_deep}")
    try:
        raw = yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        raise error(yaml_problem(path, exc)) from None
    except RecursionError:
        raise error(f"{path}: not a {kind} file: nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: a {kind} file must be a mapping with {expected}")
    return text, raw


def load_rubric_file(path: Path) -> RubricFile:
    """Parse and validate one rubric file; raise RubricError with a located message."""
    text, raw = read_yaml_mapping(path, RubricError, "rubric", "'topic' and 'questions'")
    try:
        rubric = RubricFile.model_validate(raw)
    except ValidationError as exc:
        raise RubricError(describe_validation_error(path, text, raw, exc), describe_validation_errors(path, text, raw, exc)) from None
    questions = [q.model_copy(update={"topic": rubric.topic}) for q in rubric.questions]
    return rubric.model_copy(update={"questions": questions})


def rubric_paths(dirs: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for directory in dirs:
        if directory.is_file():
            found.append(directory)
        elif directory.is_dir():
            found.extend(sorted(p for p in directory.glob("*.y*ml") if p.suffix in {".yaml", ".yml"}))
        else:
            raise RubricError(f"{directory}: no such rubric file or folder")
    return found


@dataclass
class RubricBank:
    """Every loaded question, indexed by id and by topic."""

    files: dict[str, RubricFile] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def load(cls, dirs: Iterable[Path] | None = None) -> "RubricBank":
        bank = cls()
        for path in rubric_paths(list(dirs) if dirs is not None else [packaged_rubrics_dir()]):
            bank.add(load_rubric_file(path), path)
        return bank

    @classmethod
    def load_all(cls, dirs: Iterable[Path]) -> tuple["RubricBank", list[str]]:
        """Every file that loads, and every problem of those that do not (for ``rubrics check``:
        one run shows them all, not the first)."""
        bank, problems = cls(), []
        for path in rubric_paths(list(dirs)):
            try:
                bank.add(load_rubric_file(path), path)
            except RubricError as exc:
                problems.extend(exc.problems)
        return bank, problems

    def add(self, rubric: RubricFile, path: Path) -> None:
        if rubric.topic in self.files:
            raise RubricError(f"{path}: topic '{rubric.topic}' is already defined in another file")
        for question in rubric.questions:
            if question.id in self.questions:
                other = self.sources[question.id]
                raise RubricError(f"{path}: question id '{question.id}' is also used in {other}")
            self.questions[question.id] = question
            self.sources[question.id] = path
        self.files[rubric.topic] = rubric

    @property
    def topics(self) -> dict[str, str]:
        return {slug: rubric.title for slug, rubric in self.files.items()}

    def resolve_topic(self, name: str) -> str:
        """Map a user-typed topic (slug, title or unique prefix) to a slug."""
        wanted = name.strip().lower().replace(" ", "-")
        for slug, title in self.topics.items():
            if wanted in {slug, title.lower().replace(" ", "-")}:
                return slug
        matches = [slug for slug in self.topics if slug.startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        import difflib

        if matches:
            raise RubricError(f"topic '{name}' could be any of {', '.join(matches)}: type more of its name")
        near = difflib.get_close_matches(wanted, sorted(self.topics), n=3, cutoff=0.6)
        if near:
            suggestion = " or ".join(f"'{slug}'" for slug in near)
            raise RubricError(f"unknown topic '{name}': did you mean {suggestion}? (`interviewer rubrics list` shows them all)")
        known = ", ".join(sorted(self.topics))
        raise RubricError(f"unknown topic '{name}'. Known topics: {known}")

    def select(self, topics: Sequence[str] = (), difficulty: int | None = None) -> list[Question]:
        chosen = [
            q
            for q in self.questions.values()
            if (not topics or q.topic in topics) and (difficulty is None or q.difficulty == difficulty)
        ]
        return sorted(chosen, key=lambda q: q.id)

    def get(self, question_id: str) -> Question:
        try:
            return self.questions[question_id]
        except KeyError:
            raise RubricError(f"unknown question id '{question_id}'") from None


def material_headings(material_dir: Path) -> dict[str, set[str]]:
    """Headings per Markdown file, for resolving 'file.md > Heading' citations."""
    headings: dict[str, set[str]] = defaultdict(set)
    for path in sorted(material_dir.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                headings[path.name].add(line.lstrip("#").strip())
    return headings


def _alternatives(cue: str) -> list[str]:
    return [alt.strip() for alt in cue.split("|") if words(alt)]


def contrast_problems(question: Question) -> list[str]:
    """What is wrong with a question's ``contrasts`` (an empty list when it has none).

    Each entry must occur (as a keyword cue) in the question, its points' texts and aliases or
    its model answer; no alternative of one entry may match inside an alternative of another,
    since the grader could then not tell which thing a sentence is about; and some point text
    must mention an entry, otherwise the contrast binds nothing.
    """
    if not question.contrasts:
        return []
    problems: list[str] = []
    texts = [question.text, question.model_answer or "", question.reference_answer or ""]
    texts += [t for p in question.points for t in (p.text, *p.aliases)]
    tokenised = [words(t) for t in texts if t]
    for n, entry in enumerate(question.contrasts, 1):
        if not _alternatives(entry):
            problems.append(f"contrasts entry {n} '{entry}' has no alternative with a word in it")
        elif not any(cue_present(entry, tokens) for tokens in tokenised):
            problems.append(f"contrasts entry {n} '{entry}' occurs in none of the question, points or model answer")
    entries = [(n, entry, _alternatives(entry)) for n, entry in enumerate(question.contrasts, 1)]
    for (i, first, first_alts), (j, second, second_alts) in combinations(entries, 2):
        for a in first_alts:
            for b in second_alts:
                a_in_b, b_in_a = cue_present(a, words(b)), cue_present(b, words(a))
                if a_in_b and b_in_a:
                    problems.append(f"contrasts entries {i} '{first}' and {j} '{second}' share the alternative '{a}'")
                elif a_in_b or b_in_a:
                    inner, outer = (a, b) if a_in_b else (b, a)
                    problems.append(
                        f"contrasts entries {i} '{first}' and {j} '{second}' overlap: '{inner}' matches inside "
                        f"'{outer}', so a mention of the one also names the other"
                    )
    if question.points and not any(
        cue_present(entry, words(point.text)) for entry in question.contrasts for point in question.points
    ):
        problems.append("no point text mentions any contrasts entry, so the contrasts bind nothing")
    return problems


def completeness_problems(bank: RubricBank, material_dir: Path | None = None) -> list[str]:
    """What a question lacks against the bar `rubrics check` holds every bank question to.

    Rubric questions need 3-6 points, misconceptions, a model answer and graded strong /
    partial / weak / fluent-but-wrong examples with a verdict for every point; with a material
    folder, every point must also cite an existing heading. A question that only carries a
    reference answer is graded against it and needs nothing more. Any question's ``contrasts``
    must name things it mentions, each in words no other entry shares (`contrast_problems`).
    """
    headings = material_headings(material_dir) if material_dir else None
    problems: list[str] = []
    for qid, q in bank.questions.items():
        where = f"{bank.sources[qid].name}: question '{qid}'"
        problems.extend(f"{where}: {problem}" for problem in contrast_problems(q))
        if not q.points:
            continue
        if not 3 <= len(q.points) <= 6:
            problems.append(f"{where}: has {len(q.points)} points (3-6 required)")
        if not q.model_answer:
            problems.append(f"{where}: no model_answer")
        if not q.misconceptions:
            problems.append(f"{where}: no misconceptions")
        labels = {e.label for e in q.examples}
        missing = {"strong", "partial", "weak", "fluent_wrong"} - labels
        if missing:
            problems.append(f"{where}: needs strong/partial/weak/fluent_wrong examples (missing {sorted(missing)})")
        point_ids = {p.id for p in q.points}
        for example in q.examples:
            if set(example.verdicts) != point_ids:
                problems.append(f"{where}: the {example.label} example lacks verdicts for {sorted(point_ids - set(example.verdicts))}")
        for point in q.points if headings is not None else []:
            if not point.cite:
                problems.append(f"{where}: point '{point.id}' has no cite")
                continue
            file_name, _, heading = point.cite.partition(" > ")
            if heading.strip() not in headings.get(file_name, set()):
                problems.append(f"{where}: point '{point.id}' cites missing section '{point.cite}'")
    return problems
