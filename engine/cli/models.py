"""`promptmine models`: the local model store, for machines without internet.

On a connected machine: `models pull NAME...` then `models pack store.tar`. Carry store.tar over;
on the offline machine: `models unpack store.tar` (every sha256 checked; nothing is installed
unless all match), `models verify` any time after, `models list` to see what is there.
Nothing heavy is imported here; the work lives in `promptmine.models.store`.
"""

from __future__ import annotations

import argparse
import json
import sys

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural


def _where(row) -> str:
    if row.path is None:
        return row.hint
    if row.where == "package":
        return f"{row.hint}: {row.path}"
    return f"{row.where}: {row.path}" + (f" ({row.hint})" if row.hint else "")


def _list(args) -> int:
    from promptmine.models.store import human_size, list_models, store_root

    rows = list_models()
    if args.role:
        rows = [r for r in rows if r.role == args.role]
    if args.json:
        for r in rows:
            print(json.dumps(r.to_json(), ensure_ascii=False))
        return 0
    header = ("NAME", "ROLE", "STATUS", "SIZE", "WHERE / HOW TO GET IT")
    table = [header] + [(r.name, r.role, r.status, human_size(r.size), _where(r)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    present = [r for r in rows if r.status == "present"]
    print(f"\nstore: {store_root()}; {len(present)} present "
          f"({human_size(sum(r.size or 0 for r in present))}), "
          f"{sum(r.status == 'missing' for r in rows)} missing, {sum(r.status == 'incomplete' for r in rows)} "
          f"incomplete", file=sys.stderr)
    return 0


def _pull(args) -> int:
    from promptmine.models import manifest
    from promptmine.models.store import human_size, model_size, pull

    names = list(args.names)
    if args.all or args.role:
        names += [s.name for s in manifest.MODELS if s.source == "hub" and (not args.role or s.role == args.role)]
    if not names:
        raise PromptmineError("name the models to pull (see `promptmine models list`), or pass --all / --role")
    for path in pull(list(dict.fromkeys(names)), revision=args.revision):
        log(f"pulled {path} ({human_size(model_size(path))})")
    return 0


def _pack(args) -> int:
    from promptmine.models.store import human_size, pack

    doc = pack(args.out, args.names or None)
    n_files = sum(len(m["files"]) for m in doc["models"].values())
    size = sum(f["size"] for m in doc["models"].values() for f in m["files"].values())
    log(f"packed {plural(len(doc['models']), 'model')}, {plural(n_files, 'file')}, {human_size(size)} into {args.out}: "
        f"{', '.join(m['model'] for m in doc['models'].values())}")
    return 0


def _unpack(args) -> int:
    from promptmine.models.store import unpack

    for path in unpack(args.archive):
        log(f"installed {path} (checksums verified)")
    return 0


def _verify(args) -> int:
    from promptmine.models.store import verify

    results = verify(args.names or None, shipped=not args.store_only)
    if not results:
        log("nothing to verify: the model store is empty" +
            ("" if args.store_only else " and no shipped model package is installed"))
        return 0
    failed = 0
    for r in results:
        print(f"{r.status:10s} {r.name}  ({r.files} files, {r.path})")
        for p in r.problems:
            print(f"           {p}")
        failed += r.status == "FAILED"
    if failed:
        log(f"{plural(failed, 'model')} failed verification: pull, add or unpack them again")
        return 1
    return 0


def _add(args) -> int:
    from promptmine.models.store import add, human_size, model_size

    path = add(args.name, args.folder)
    log(f"added {path} ({human_size(model_size(path))}; checksums recorded)")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    from promptmine.cli import add_verbosity

    p = subparsers.add_parser(
        "models", help="list, pull, pack, unpack and verify local models (for offline machines)",
        description="The local model store ($PROMPTMINE_MODELS, default ~/.cache/promptmine/models). "
                    "promptmine never downloads at run time; on a connected machine `pull` models and `pack` "
                    "the store into one tar, carry it to the offline machine and `unpack` it there (every "
                    "sha256 is verified). Weights are stored and loaded only as safetensors.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="models_command", metavar="ACTION")

    def _usage(args) -> int:
        p.print_help(sys.stderr)
        return 2

    p.set_defaults(func=_usage)

    ls = sub.add_parser("list", help="what is present, what is missing, and sizes",
                        description="Every model promptmine knows (Marian pivots, masked and causal LMs, spaCy "
                                    "pipelines, shipped package models) with its status, location and size, plus "
                                    "any other model in the store. Never touches the network.")
    ls.add_argument("--json", action="store_true", help="one JSON object per model instead of a table")
    ls.add_argument("--role", choices=["translator", "masked", "causal", "parser", "custom"],
                    help="only models of this role")
    ls.set_defaults(func=_list)

    pl = sub.add_parser("pull", help="download models into the store (connected machine only)",
                        description="Download models from the Hugging Face Hub into the store: only safetensors "
                                    "weights, configs and tokenizer files (never pickled *.bin/*.pt). When a repo's "
                                    "main branch has no safetensors, the Hub's safetensors conversion PR is used. "
                                    "Refused when HF_HUB_OFFLINE=1. Checksums are recorded for pack/verify.")
    pl.add_argument("names", nargs="*", metavar="NAME",
                    help="manifest names or aliases (see `models list`), or any hub repo id org/name")
    pl.add_argument("--all", action="store_true", help="every hub model of the manifest")
    pl.add_argument("--role", choices=["translator", "masked", "causal", "parser"],
                    help="every hub model of this role")
    pl.add_argument("--revision", help="branch, tag, commit or PR ref (refs/pr/N) to download")
    pl.set_defaults(func=_pull)

    pk = sub.add_parser("pack", help="write the store into one tar with sha256 checksums",
                        description="Write the store (or the named models) into OUT.tar (OUT.tar.gz compresses) "
                                    "with a manifest of every file's sha256 and size. Recorded checksums are "
                                    "verified first, so a damaged store is never carried. Written atomically.")
    pk.add_argument("out", metavar="OUT.tar", help="archive to write")
    pk.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: the whole store)")
    pk.set_defaults(func=_pack)

    up = sub.add_parser("unpack", help="install a packed store, verifying every sha256",
                        description="Install the models of an archive made by `models pack` into the store. Every "
                                    "file must match its sha256; members that are links, special files or paths "
                                    "outside the store are refused. Nothing is installed unless everything "
                                    "verifies; models already in the store are replaced.")
    up.add_argument("archive", metavar="IN.tar", help="archive made by `promptmine models pack`")
    up.set_defaults(func=_unpack)

    vf = sub.add_parser("verify", help="re-check the checksums of the store (and shipped models)",
                        description="Re-hash every file of every model in the store against the checksums recorded "
                                    "by pull/add/unpack, and the shipped package models against their package "
                                    "RECORD. Exit status 1 when any model fails.")
    vf.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: all)")
    vf.add_argument("--store-only", action="store_true", help="skip the shipped package models")
    vf.set_defaults(func=_verify)

    ad = sub.add_parser("add", help="copy a local model folder into the store, recording checksums",
                        description="Copy a model folder you already have (converted or downloaded by hand) into "
                                    "the store under NAME, so list/pack/verify know it. Needs config.json and "
                                    "*.safetensors (or a spaCy pipeline); pickled weight files are left out.")
    ad.add_argument("name", metavar="NAME", help="name to store it under, e.g. the hub id org/model")
    ad.add_argument("folder", metavar="FOLDER", help="the model folder")
    ad.set_defaults(func=_add)
    for action in (ls, pl, pk, up, vf, ad):
        add_verbosity(action, default=argparse.SUPPRESS)
    return p
