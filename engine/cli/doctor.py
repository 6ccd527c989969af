"""`promptmine doctor`: flags -> `promptmine.doctor.doctor()` -> a table (or JSON) of what works here."""

from __future__ import annotations

import argparse


def format_checks(checks) -> str:
    """A table of the checks, each missing one followed by its fix, then a one-line summary."""
    from promptmine.report import text_table

    rows = []
    for c in checks:
        rows.append([c.kind, c.name, c.status, c.detail])
        if c.fix and not c.ok:
            rows.append(["", "", "", f"  fix: {c.fix}"])
    ok = sum(c.ok for c in checks)
    return text_table(["kind", "name", "status", "detail"], rows) + f"\n\n{ok} of {len(checks)} usable here."


def run(args: argparse.Namespace) -> int:
    import json

    from promptmine.doctor import doctor

    checks = doctor(models=not args.no_models)
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=1))
    else:
        print(format_checks(checks))
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "doctor", help="which backends, models and pivots are usable here, and how to add the others",
        description="Check, without loading any model, which translators, paraphrasers, scorers, "
                    "back-translation pivots, the dependency parser and the known models are usable on "
                    "this machine, and say for each missing one how to add it. Always exits 0.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  promptmine doctor\n  promptmine doctor --json | jq '.[] | select(.status == \"missing\")'")
    p.add_argument("--json", action="store_true", help="a JSON list of {kind, name, status, detail, fix}")
    p.add_argument("--no-models", action="store_true", help="leave out the list of known models")
    p.set_defaults(func=run)
    return p
