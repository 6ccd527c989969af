"""Debian's rule-based Apertium (EN<->ES, `apt-get install apertium apertium-eng-spa`) as a pivot.

One subprocess per call translates all inputs, one per line. Rule-based: one hypothesis, no score.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from pydantic import BaseModel, Field

from promptmine.core.errors import ModelNotAvailable, PromptmineError
from promptmine.models.registry import Availability
from promptmine.models.translate import Hypothesis, Translator

# ISO 639-1 -> Apertium's three-letter codes, for the pairs we know of.
# Debian names some modes with the two-letter codes (`en-gl`, `eo-en`), some with three (`eng-cat`).
CODES = {"en": "eng", "es": "spa", "ca": "cat", "gl": "glg", "eo": "epo", "hbs": "hbs", "fr": "fra", "pt": "por",
         "it": "ita", "de": "deu"}
# Debian's English pairs that translate both ways (eu-en, isl-eng, mkd-eng are into English only).
PACKAGES = {"es": "apertium-eng-spa", "ca": "apertium-eng-cat", "gl": "apertium-en-gl", "eo": "apertium-eo-en",
            "hbs": "apertium-hbs-eng"}
INSTALL_HINT = "install it with `apt-get install apertium apertium-eng-spa` (Debian/Ubuntu)"


def mode_name(src: str, tgt: str, modes: set[str]) -> str | None:
    """The installed mode translating src -> tgt (ISO codes), under either naming; None if none."""
    for name in (f"{CODES.get(src, src)}-{CODES.get(tgt, tgt)}", f"{src}-{tgt}"):
        if name in modes:
            return name
    return None


def both_ways(modes: set[str]) -> list[str]:
    """The pivots with an English mode each way, in CODES order (`es`, `ca`, `gl`, ...)."""
    return [lang for lang in CODES if lang != "en" and mode_name("en", lang, modes) and mode_name(lang, "en", modes)]


def installed_modes(binary: str | None = None) -> set[str]:
    """Modes such as `eng-spa` that `apertium -l` lists; empty when Apertium is missing. `binary`:
    the program (None: the backend's `binary` option's default)."""
    binary = binary or ApertiumTranslator.Options().binary
    if shutil.which(binary) is None:
        return set()
    out = subprocess.run([binary, "-l"], capture_output=True, text=True, timeout=60)
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


def installed_pairs(modes: set[str]) -> str:
    """`en<->es` for modes eng-spa and spa-eng (`en->ca` when one way only), from `apertium -l`'s modes."""
    back = {code: lang for lang, code in CODES.items()}
    ways = set()
    for mode in modes:
        parts = mode.split("_")[0].split("-")  # spa-eng_US: a variant of spa-eng
        if len(parts) == 2:
            ways.add(tuple(back.get(p, p) for p in parts))
    shown = []
    for a, b in sorted(ways):
        if (b, a) in ways:
            if a < b:
                shown.append(f"{a}<->{b}")
        else:
            shown.append(f"{a}->{b}")
    return ", ".join(shown)


class ApertiumTranslator(Translator):
    name = "apertium"
    default_pivots = ("es",)
    # Apertium translates a bare `Y` to Spanish `y`: slots travel as names it leaves alone.
    placeholder_styles = ("names",)

    class Options(BaseModel):
        binary: str = Field("apertium", description="the apertium program to run",
                            json_schema_extra={"identity": False})  # the modes it finds are
        timeout: float = Field(600, gt=0, description="seconds one call may take",
                               json_schema_extra={"identity": False})

    @classmethod
    def availability(cls) -> Availability:
        """The apertium program and its installed modes: a pivot needs both eng-X and X-eng."""
        if shutil.which(cls.Options().binary) is None:
            return Availability(False, "the apertium program is not installed",
                                "apt-get install apertium apertium-eng-spa (Debian/Ubuntu)",
                                {"es": "apt-get install apertium apertium-eng-spa"})
        modes = installed_modes()
        pivots: dict[str, str | None] = {}
        for lang, code in CODES.items():
            if lang != "en" and (mode_name("en", lang, modes) or mode_name(lang, "en", modes) or lang in PACKAGES):
                pivots[lang] = None if lang in both_ways(modes) else \
                    f"apt-get install {PACKAGES[lang]}" if lang in PACKAGES else \
                    f"an Apertium eng-{code} language pair (`apt-cache search apertium-eng`)"
        usable = [p for p, fix in pivots.items() if fix is None]
        if not usable:
            return Availability(False, f"no English pair installed (modes: {', '.join(sorted(modes)) or 'none'})",
                                "apt-get install apertium-eng-spa", pivots)
        return Availability(True, f"apertium with pivots {', '.join(usable)}", "", pivots)

    def __init__(self, *, options: Options | None = None, **fields):
        super().__init__(options=options, **fields)
        self.binary, self.timeout = self.options.binary, self.options.timeout
        if shutil.which(self.binary) is None:
            raise ModelNotAvailable(f"the apertium backend needs the `{self.binary}` program; {INSTALL_HINT}")
        self._modes = installed_modes(self.binary)

    def identity_values(self) -> dict:
        """The language pairs installed: what translates."""
        return {"modes": sorted(self._modes)}

    def _mode(self, src: str, tgt: str) -> str | None:
        return mode_name(src, tgt, self._modes)

    @property
    def installed_pivots(self) -> list[str]:
        """Every pivot with an English pair installed both ways (`es`, `ca`, `gl`, `eo`, `hbs`)."""
        return both_ways(self._modes)

    def supports(self, src: str, tgt: str) -> bool:
        return self._mode(src, tgt) is not None

    def require(self, src: str, tgt: str) -> None:
        if not self.supports(src, tgt):
            raise ModelNotAvailable(f"Apertium has no {src}->{tgt} mode; installed here: "
                                    f"{installed_pairs(self._modes) or 'no language pair'}. `apertium-eng-spa` gives "
                                    "en<->es; another pair needs its own Apertium package, where one exists "
                                    "(`apt-cache search apertium-eng`)")

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        self.require(src, tgt)
        if not texts:
            return []
        # One line per input; `-u` drops the marks on unknown words instead of printing `*word`.
        lines = [" ".join(t.split()) for t in texts]
        proc = subprocess.run([self.binary, "-u", self._mode(src, tgt)], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, timeout=self.timeout)
        if proc.returncode != 0:
            raise PromptmineError(f"apertium {self._mode(src, tgt)} failed: {proc.stderr.strip()[:500]}")
        out = proc.stdout.rstrip("\n").split("\n")
        if len(out) != len(lines):
            raise PromptmineError(f"apertium returned {len(out)} lines for {len(lines)} inputs")
        return [[Hypothesis(" ".join(o.split()), None)] for o in out]
