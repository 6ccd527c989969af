"""Paraphrasing (`promptmine.paraphrase`): new wordings of prompts by back-translation through pivot
languages (LPAQA section 3.2), or directly with a paraphraser. One module per job:

- `settings`: `ParaphraseSettings`, every round-trip setting and its default, once;
- `slots`: `[X]`/`[Y]` rendered as text a translator leaves alone, and restored (`render_slots`);
- `spans`: the protected spans of a free-text prompt, masked, checked and repaired (`SpanSettings`);
- `roundtrip`: the translation cache and the round trip (B x B candidates per pivot, ranked);
- `pool`: a pool of template paraphrases grown over generations of round trips, with hygiene;
- `freetext`: whole prompts, sentence by sentence, reassembled into N variants;
- `direct`: rewrites from a paraphraser (no pivot);
- `routes`: the `BACKEND:LANG` route grammar, the installed routes, the route checker and opener;
- `api`: `paraphrase(...)`, which builds the backends from names and options and calls the above.
"""

from promptmine.paraphrasing.api import ParaphraseResult, paraphrase
from promptmine.paraphrasing.direct import paraphrase_direct
from promptmine.paraphrasing.freetext import paraphrase_text, split_units
from promptmine.paraphrasing.pool import (EXTRA_STYLES, GROWN, PoolEntry, grow_paraphrases, hygiene_counts,
                                          paraphrase_routes, paraphrase_templates)
from promptmine.paraphrasing.roundtrip import FRAMES, Found, RoundTripStats, round_trip, translate_cached
from promptmine.paraphrasing.routes import (AUTO_BACKENDS, check_pivots, check_routes, format_routes, installed_routes,
                                            open_routes, parse_routes)
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.slots import PLACEHOLDER_STYLES, render_slots, restore_slots, slot_counts
from promptmine.paraphrasing.spans import SpanSettings

__all__ = ["AUTO_BACKENDS", "EXTRA_STYLES", "FRAMES", "Found", "GROWN", "PLACEHOLDER_STYLES", "ParaphraseResult",
           "ParaphraseSettings", "PoolEntry", "RoundTripStats", "SpanSettings", "check_pivots", "check_routes",
           "format_routes", "grow_paraphrases", "hygiene_counts", "installed_routes", "open_routes", "paraphrase",
           "paraphrase_direct", "paraphrase_routes", "paraphrase_templates", "paraphrase_text", "parse_routes",
           "render_slots", "restore_slots", "round_trip", "slot_counts", "split_units", "translate_cached"]
