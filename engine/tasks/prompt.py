"""A task prompt's parts, so each can vary while the rest stays: instruction, demonstrations with
their labels, the query's fields with their slots, and the answer cue.

    You are an expert ... of User Reviews.                     <- instruction
    Here are a few examples to refer to:                       <- demo header (shown only with demos)
    1. That was a fantastic experience ... // Positive         <- demonstrations (inline style)
    2. ...
    Sentence: {text}                                           <- query fields (cue + value with slots)
    Sentiment:                                                 <- answer cue

`parse_prompt` reads these from the user's prompt (`None` when the prompt has no shape it knows: then
only the dimensions that need no parts run), `render` writes a `PromptSpec` back as prompt text, and
`scoring_form` turns any prompt into what scorers take: a template with one `[X]` where the
example's slot values go and `[Y]` where the answer goes, plus a function that fills the `[X]` part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from promptmine.core.errors import PromptmineError
from promptmine.core.records import X, Y

SLOT = re.compile(r"\{([A-Za-z_]\w*)\}")
# A field cue: a short capitalised name (at most 3 words) and a colon at the start of a line.
CUE_LINE = re.compile(r"^([A-Z][\w'/-]*(?: [A-Za-z][\w'/-]*){0,2}):[ \t]*(.*)$")
ENUMERATOR = re.compile(r"^[ \t]*(\d+[.)]|\(\d+\)|[-*•]|Example \d+:)[ \t]+")
INLINE_SEPARATORS = ("//", "->", "=>", "|", "\t")


@dataclass(frozen=True)
class Field:
    """One line of the query: an optional cue (`Sentence`, without its colon) and the value, which
    holds the slot(s) (`{text}`, `{hypothesis} True or False?`) or constant text."""

    cue: str | None
    value: str


@dataclass(frozen=True)
class Demo:
    """A demonstration: its slot values and its label (the label's name, not its word)."""

    values: tuple[tuple[str, str], ...]
    label: str


@dataclass(frozen=True)
class Format:
    """How the parts are written: FormatSpread's grammar, kept small (Sclar et al. 2023)."""

    names: tuple[tuple[str, str], ...] = ()  # cue -> the name it is written as (renamed fields)
    casing: str = "as-is"  # of the cues: as-is, lower, upper, title
    cue_sep: str = ": "  # between a field's cue and its value: ": ", ":\n", " - "
    demo_style: str = "block"  # block: the query's lines and the answer; inline: `text // Label`
    inline_sep: str = " // "
    enumerator: str = ""  # "", "1.", "(1)", "-", "Example 1:"
    demo_sep: str = "\n\n"  # between demonstrations

    def cue(self, name: str) -> str:
        name = dict(self.names).get(name, name)
        return {"lower": name.lower(), "upper": name.upper(), "title": name.title()}.get(self.casing, name)

    def number(self, i: int) -> str:
        e = self.enumerator
        if not e:
            return ""
        if e in ("-", "*", "•"):
            return e + " "
        return re.sub(r"\d+", str(i + 1), e) + ("\n" if e.startswith("Example") else " ")


@dataclass(frozen=True)
class PromptSpec:
    """A prompt as parts; `render` writes it. `words[i]` is the word label i's demonstrations show."""

    instruction: str
    demo_header: str
    demos: tuple[Demo, ...]
    fields: tuple[Field, ...]
    answer: str  # the answer cue line, e.g. `Sentiment:` (a cue) or `The review is` (free text)
    labels: tuple[str, ...]
    words: tuple[str, ...]
    format: Format = field(default_factory=Format)

    @property
    def slots(self) -> list[str]:
        return [s for f in self.fields for s in SLOT.findall(f.value)]

    def with_(self, **changes) -> PromptSpec:
        return replace(self, **changes)


def slots_of(prompt: str) -> list[str]:
    """The slot names of a prompt in order (`{text}`; `[X]` counts as `{text}`)."""
    return SLOT.findall(prompt.replace(X, "{text}"))


def check_prompt(prompt: str) -> list[str]:
    """The prompt's slots; an error when it has none, repeats one, or puts `[Y]` before a slot."""
    slots = slots_of(prompt)
    if not slots:
        raise PromptmineError("a task prompt needs a slot where the example goes: {text} (or {premise}, "
                              "{hypothesis}, ... naming the examples' fields)")
    if len(set(slots)) != len(slots):
        raise PromptmineError(f"a task prompt names each slot once; found {', '.join(slots)}")
    if prompt.count(Y) > 1:
        raise PromptmineError(f"a task prompt has at most one {Y} (the answer); found {prompt.count(Y)}")
    if Y in prompt and prompt.index(Y) < prompt.replace(X, "{text}").rindex("{" + slots[-1] + "}"):
        raise PromptmineError(f"the answer {Y} must come after the slots")
    return slots


def scoring_form(prompt: str) -> tuple[str, Callable[[Mapping[str, str]], str]]:
    """(template, fill): the template has the prompt's text before its first slot, `[X]`, the text
    after its last slot and `[Y]` (after the final cue when the prompt has none); `fill(fields)` is what
    goes in `[X]`: the span from the first slot to the last with every slot filled. The shared text
    before the slots is the same for every example, so scorers run it once."""
    prompt = prompt.replace(X, "{text}")
    slots = check_prompt(prompt)
    first = prompt.index("{" + slots[0] + "}")
    last = prompt.rindex("{" + slots[-1] + "}") + len(slots[-1]) + 2
    head, middle, tail = prompt[:first], prompt[first:last], prompt[last:]
    if Y not in tail:
        tail = tail.rstrip() + " " + Y
    template = head + X + tail

    def fill(fields: Mapping[str, str]) -> str:
        return SLOT.sub(lambda m: fields[m.group(1)], middle)

    return template, fill


# -- parsing ----------------------------------------------------------------------------------------

def _field(line: str) -> Field:
    m = CUE_LINE.match(line.strip())
    return Field(m.group(1), m.group(2)) if m else Field(None, line.strip())


def parse_prompt(prompt: str, verbalisers: Mapping[str, Sequence[str]]) -> PromptSpec | None:
    """The parts of a prompt, or None when it has no shape this knows (slots inside the instruction,
    text after the answer cue). Demonstrations are recognised in two styles: inline lines ending in a
    separator and a label word (`1. great film // Positive`), and blocks that repeat the query's
    lines followed by the answer cue and a label word."""
    prompt = prompt.replace(X, "{text}").replace("\r\n", "\n").strip()
    if Y in prompt:
        return None  # an explicit answer position: keep the prompt as written
    lines = prompt.split("\n")
    slot_lines = [i for i, line in enumerate(lines) if SLOT.search(line)]
    if not slot_lines:
        return None
    first, last = slot_lines[0], slot_lines[-1]
    if any(not lines[i].strip() for i in range(first, last)):
        return None  # the slots are spread over paragraphs: too irregular to vary safely
    after = [line for line in lines[last + 1:] if line.strip()]
    if len(after) > 1:
        return None
    answer = after[0].strip() if after else ""
    if not answer:
        return None
    fields = tuple(_field(line) for line in lines[first:last + 1])
    labels = tuple(verbalisers)
    word_to_label = {w: lab for lab, ws in verbalisers.items() for w in ws}
    before = "\n".join(lines[:first]).rstrip()
    demos, fmt, span = _demos(before, fields, answer, word_to_label)
    head = before[:span[0]].rstrip() if demos else before
    bridge = before[span[1]:].strip() if demos else ""
    if bridge:
        return None  # text between the demonstrations and the query: keep the prompt as written
    paragraphs = head.split("\n\n")
    demo_header = ""
    if demos and paragraphs and paragraphs[-1].rstrip().endswith(":"):
        demo_header = paragraphs.pop().strip()
    cue = next((f for f in fields if f.cue), None)
    if cue is not None:
        m = re.search(re.escape(cue.cue) + r":([ \t]*)", prompt)
        fmt = replace(fmt, cue_sep=":" + (m.group(1) or "") if m else ": ")
    words = tuple(verbalisers[lab][0] for lab in labels)
    return PromptSpec("\n\n".join(paragraphs).strip(), demo_header, tuple(demos), fields, answer, labels, words, fmt)


def _demos(before: str, fields: Sequence[Field], answer: str, word_to_label: Mapping[str, str]):
    """(demos, their format, (start, end) of the text they span) in the text before the query."""
    words = "|".join(re.escape(w) for w in sorted(word_to_label, key=len, reverse=True))
    if not words:
        return [], Format(), (0, 0)
    slots = [s for f in fields for s in SLOT.findall(f.value)]
    # block style: the query's own lines, then the answer cue and a label word
    parts = []
    for i, f in enumerate(fields):
        value = re.escape(f.value)
        for s in SLOT.findall(f.value):
            value = value.replace(re.escape("{" + s + "}"), f"(?P<{s}>.+?)", 1)
        cue = "" if f.cue is None else re.escape(f.cue) + r":[ \t]*"
        parts.append((r"(?P<enum>\d+[.)][ \t]+|\(\d+\)[ \t]+|Example \d+:\n)?" if i == 0 else "") + cue + value)
    block = re.compile(r"(?m)^" + r"[ \t]*\n".join(parts) + r"[ \t]*\n" + re.escape(answer.rstrip(":")) +
                       r":?[ \t]*(?P<label>" + words + r")[ \t]*$")
    found = list(block.finditer(before))
    style = "block"
    if not found and len(slots) == 1:
        seps = "|".join(re.escape(s) for s in INLINE_SEPARATORS)
        inline = re.compile(r"(?m)^[ \t]*(?P<enum>\d+[.)]|\(\d+\)|[-*•])?[ \t]*(?P<" + slots[0] + r">\S.*?)[ \t]*"
                            r"(?P<sep>" + seps + r")[ \t]*(?P<label>" + words + r")[ \t]*$")
        found = list(inline.finditer(before))
        style = "inline"
    if not found:
        return [], Format(), (0, 0)
    demos = [Demo(tuple((s, m.group(s).strip()) for s in slots), word_to_label[m.group("label")]) for m in found]
    enum = (found[0].group("enum") or "").strip()
    enum = re.sub(r"\d+", "1", enum) if enum else ""
    gaps = [before[a.end():b.start()] for a, b in zip(found, found[1:])]
    fmt = Format(demo_style=style, enumerator=enum, demo_sep="\n\n" if any("\n\n" in g for g in gaps) else "\n")
    if style == "inline":
        sep = found[0].group("sep")
        fmt = replace(fmt, inline_sep="\t" if sep == "\t" else f" {sep} ")
    return demos, fmt, (found[0].start(), found[-1].end())


# -- rendering --------------------------------------------------------------------------------------

def render(spec: PromptSpec) -> str:
    """The prompt text of `spec`: instruction, demonstrations, the query and the answer cue."""
    fmt = spec.format
    parts = [spec.instruction] if spec.instruction else []
    if spec.demos:
        if spec.demo_header:
            parts.append(spec.demo_header)
        parts.append(fmt.demo_sep.join(_render_demo(spec, i, d) for i, d in enumerate(spec.demos)))
    parts.append(_render_query(spec, None) + "\n" + _answer(spec))
    return "\n\n".join(parts)


def _answer(spec: PromptSpec) -> str:
    a = spec.answer
    return spec.format.cue(a[:-1]) + ":" if a.endswith(":") and CUE_LINE.match(a) else a


def _render_query(spec: PromptSpec, values: Mapping[str, str] | None) -> str:
    fmt = spec.format
    out = []
    for f in spec.fields:
        value = f.value if values is None else SLOT.sub(lambda m: values[m.group(1)], f.value)
        out.append(value if f.cue is None else fmt.cue(f.cue) + fmt.cue_sep + value)
    return "\n".join(out)


def _render_demo(spec: PromptSpec, i: int, demo: Demo) -> str:
    fmt = spec.format
    word = spec.words[spec.labels.index(demo.label)]
    values = dict(demo.values)
    if fmt.demo_style == "inline":
        return fmt.number(i) + " ".join(values[s] for s in spec.slots) + fmt.inline_sep + word
    return fmt.number(i) + _render_query(spec, values) + "\n" + _answer(spec) + " " + word
