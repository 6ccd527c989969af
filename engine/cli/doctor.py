"""`promptmine doctor`: flags -> `promptmine.doctor.doctor()` -> a table (or JSON) of what works here."""

from __future__ import annotations

import argparse

WIDTH = 100  # lines of the table stay this narrow: long details and fixes wrap under their column


def format_checks(checks, *, all_models: bool = False) -> str:
    """First whether the default pipeline is ready, then a table of the checks (each missing one
    followed by its fix, wrapped to WIDTH), the missing optional models summed up in one line unless
    `all_models`, then a one-line summary."""
    import textwrap

    from promptmine.doctor import default_pipeline
    from promptmine.report import text_table

    ready = default_pipeline(checks)
    missing_models = [c for c in checks if c.kind == "model" and not c.ok]
    shown = [c for c in checks if all_models or c not in missing_models]
    left = max(len(c.kind) for c in shown) + max(len(c.name) for c in shown) + len("missing") + 6
    width = max(30, WIDTH - left)
    rows = []
    for c in shown:
        lines = textwrap.wrap(c.detail, width) or [""]
        rows.append([c.kind, c.name, c.status, lines[0]])
        rows += [["", "", "", more] for more in lines[1:]]
        if c.fix and not c.ok:
            rows += [["", "", "", line] for line in textwrap.wrap(f"fix: {c.fix}", width, initial_indent="  ",
                                                                   subsequent_indent="    ")]
    ok = sum(c.ok for c in checks)
    out = [textwrap.fill(ready.summary, WIDTH), "", text_table(["kind", "name", "status", "detail"], rows)]
    if missing_models and not all_models:
        out += ["", textwrap.fill(f"{len(missing_models)} optional known models are not in the store (Marian "
                                  "pivots, masked scorers, ...); `promptmine doctor --all` lists each with its fix.",
                                  WIDTH)]
    out += ["", f"{ok} of {len(checks)} usable here."]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    import json

    from promptmine.doctor import doctor

    checks = doctor(models=not args.no_models)
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=1))
    else:
        print(format_checks(checks, all_models=args.all))
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "doctor", help="which backends, models and pivots are usable here, and how to add the others",
        description="Say first whether the default pipeline (`promptmine run`) works here, then check, "
                    "without loading any model, which translators, paraphrasers, scorers, back-translation "
                    "pivots, the dependency parser and the known models are usable on this machine, and "
                    "say for each missing one how to add it. Always exits 0.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  promptmine doctor\n  promptmine doctor --json | jq '.[] | select(.status == \"missing\")'")
    p.add_argument("--json", action="store_true", help="a JSON list of {kind, name, status, detail, fix}")
    p.add_argument("--no-models", action="store_true", help="leave out the list of known models")
    p.add_argument("--all", action="store_true", help="list every missing optional model too, each with its fix")
    p.set_defaults(func=run)
    return p
