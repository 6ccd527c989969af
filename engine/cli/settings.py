"""Flags made from a feature's settings (`promptmine.core.settings.Settings`): each flag's dest is
its field's name and its default the field's default, so a setting has one name from the command
line to its use and its default is written only in its settings class.

    add_setting(p, MiningSettings, "top", type=positive_int, help="... (default: %(default)s)")
    settings = settings_from_args(args, MiningSettings)
"""

from __future__ import annotations

import argparse
from typing import Any

from promptmine.core.settings import Settings


def add_setting(parser, settings: type[Settings], name: str, *flags: str, **kwargs: Any) -> argparse.Action:
    """Add the flag of one settings field (default flag: `--NAME` with `-` for `_`). A switch is
    `store_true` for a field that defaults to False and `store_false` (a `--no-...` flag) for one
    that defaults to True; a repeatable (`action="append"`) flag starts from the default as a list."""
    default = settings.default(name)
    action = kwargs.get("action")
    if action in ("store_true", "store_false") and default is not (action == "store_false"):
        raise ValueError(f"{settings.__name__}.{name} defaults to {default!r}: a {action} flag would invert it")
    if action == "append":
        default = list(default or [])
    made = parser.add_argument(*(flags or ("--" + name.replace("_", "-"),)), dest=name, default=default, **kwargs)
    made.setting = (settings, name)  # read by tests/test_settings.py
    return made


def settings_from_args(args: argparse.Namespace, settings: type[Settings], **override: Any) -> Settings:
    """The settings object from the flags `add_setting` made (dest = field name) and `override`."""
    given = {name: getattr(args, name) for name in settings.model_fields if hasattr(args, name)}
    return settings.model_validate({**given, **override})
