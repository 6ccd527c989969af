"""`promptmine` command line: one subcommand per pipeline stage.

Each stage module defines `add_cli(subparsers)`; this file only wires them together, and
importing a stage module never imports a model library, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from promptmine import __version__
from promptmine.core.errors import PromptmineError

# subcommand -> module defining add_cli(subparsers); listed in the order --help shows them.
COMMANDS = {
    "mine": "promptmine.mining",
    "paraphrase": "promptmine.paraphrasing",
    "evaluate": "promptmine.scoring",
    "select": "promptmine.selection",
    "run": "promptmine.pipeline",
    "models": "promptmine.models_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptmine",
        description="Find better prompts for a language model: mine templates from a corpus, "
                    "paraphrase them by back-translation, and select or ensemble them by how well "
                    "a model answers. Runs offline on local models.",
    )
    parser.add_argument("--version", action="version", version=f"promptmine {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:  # stage not built yet
                continue
            raise
        mod.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except PromptmineError as e:
        print(f"promptmine {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"promptmine {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
