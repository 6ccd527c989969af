"""`promptmine` command line: one module per command, each parsing its flags into options for the
typed library function it calls (`promptmine.mine`, `paraphrase`, `evaluate`, `select`, `run`,
`predict`).

This package is the only place that parses flags. Importing it never imports a model library, so
`--help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from promptmine import __version__
from promptmine.core.errors import PromptmineError

# command -> module defining add_parser(subparsers); in the order --help shows them.
COMMANDS = {
    "mine": "promptmine.cli.mine",
    "paraphrase": "promptmine.cli.paraphrase",
    "evaluate": "promptmine.cli.evaluate",
    "select": "promptmine.cli.select",
    "run": "promptmine.cli.run",
    "predict": "promptmine.cli.predict",
    "split": "promptmine.cli.split",
    "models": "promptmine.cli.models",
    "doctor": "promptmine.cli.doctor",
}


def add_verbosity(parser: argparse.ArgumentParser, default=0) -> None:
    """--quiet/--verbose, on every command (a sub-action passes default=argparse.SUPPRESS so it
    does not undo the flag given before the action's name)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1, default=default,
                   help="only warnings and errors on stderr (no progress)")
    g.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1, default=default,
                   help="more detail on stderr, including the model libraries' own notices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptmine",
        description="Find better prompts for a language model: mine templates from a corpus, "
                    "paraphrase them by back-translation, and select or ensemble them by how well "
                    "a model answers. Runs offline on local models.",
    )
    parser.add_argument("--version", action="version", version=f"promptmine {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        command = importlib.import_module(module).add_parser(sub)
        add_verbosity(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    from promptmine.core.progress import configure_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    configure_logging(getattr(args, "verbosity", 0))
    try:
        from promptmine.cli.checks import check_devices

        check_devices(args)
        return int(args.func(args) or 0)
    except PromptmineError as e:
        print(f"promptmine {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"promptmine {args.command}: interrupted", file=sys.stderr)
        return 130
