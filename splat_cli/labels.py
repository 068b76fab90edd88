"""`splat labels ...`: name SAE features, and work through the labelling queue.

Labels live in `$SPLAT_HOME/labels/labels.sqlite` (splat_core.labels); with `--sae NAME`,
those of that SAE variant (`labels@NAME.sqlite`: feature ids are each SAE's own). Every
subcommand takes `--home`, `--sae` and `--json`; with `--json` it prints:

    next     {"built": int, "entries": [{feature_id, priority, reason, added_at}, ...]}
    build    {"built": int, "by": "count" | "explanation", "explained": class or null}
    set      the label written: {feature_id, name, category, notes, confidence, source, ...,
             rule, rule_score, created_at, updated_at, version}
    rescore  {"rescored": int, "data_version": str}
    skip     {"skipped": feature id, or null when nothing is pending}
    add      {"queued": [feature ids], "priority": float, "reason": str}
    status   {n_labels, by_category, by_source, queue: {pending, completed, skipped}}
    show     {"feature_id", "label": label or null, "history": [every write, oldest first,
             with "action" (set|delete) and "written_at"], "queue": entry or null}
    export   {"path", "format", "n_labels"}
    import   {"path", "imported": int}

A label's `--rule` is written in the explanation language (splat_core.explain.rules) and
scored when written, and again when shown after a new generation is served (or by
`rescore`); the queue is built by activation count or, with `--explained well|poorly|none`,
by how well feature_explanations explains each feature (splat_core.investigate.label_scores).

While a feature store is materialized, feature ids outside [0, n_features) are refused.
Bad values, unknown ids and missing files exit 2 with the reason on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from splat_cli.common import add_home_option, add_sae_option, fail, print_json
from splat_core.labels import CATEGORIES, LabelConflict, LabelError, LabelStore
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser("labels", help="feature labels and the labelling queue")
    labels_sub = p.add_subparsers(dest="labels_command", required=True, metavar="LABELS")

    q = _command(labels_sub, "next", "the next features to label (builds the queue if empty)")
    q.add_argument("-n", type=int, default=5, help="how many entries to show")
    q.add_argument("--no-build", action="store_true", help="do not fill an empty queue")
    _build_options(q)
    q.set_defaults(run=run_next)

    b = _command(labels_sub, "build", "queue features by activation count or explanation")
    _build_options(b)
    b.add_argument("--include-labeled", action="store_true", help="queue labelled ones too")
    b.set_defaults(run=run_build)

    s = _command(labels_sub, "set", "create or update a feature's label")
    s.add_argument("feature", type=int, help="feature id")
    s.add_argument("--name", required=True)
    s.add_argument("--category", default=None, help=" | ".join(CATEGORIES))
    s.add_argument("--notes", default=None)
    s.add_argument("--confidence", type=float, default=None, help="0..1")
    s.add_argument("--source", default="cli")
    s.add_argument("--rule", default=None,
                   help='what the feature detects, e.g. "swim_speed_up >= 12 & class = '
                        'shooter" ("" removes it); scored when written')  # fmt: skip
    s.set_defaults(run=run_set)

    r = _command(labels_sub, "rescore", "score the labels' rules on the served generation")
    r.add_argument("--force", action="store_true", help="rescore fresh scores too")
    r.set_defaults(run=run_rescore)

    k = _command(labels_sub, "skip", "skip a queued feature (default: the next one)")
    k.add_argument("feature", type=int, nargs="?", default=None, help="feature id")
    k.add_argument("--reason", default="")
    k.set_defaults(run=run_skip)

    a = _command(labels_sub, "add", "queue features (comma-separated ids)")
    a.add_argument("ids", help="e.g. 3,17,42")
    a.add_argument("--priority", type=float, default=0.5, help="higher comes first")
    a.add_argument("--reason", default="")
    a.set_defaults(run=run_add)

    _command(labels_sub, "status", "label and queue counts").set_defaults(run=run_status)

    w = _command(labels_sub, "show", "a feature's label, history and queue entry")
    w.add_argument("feature", type=int, help="feature id")
    w.set_defaults(run=run_show)

    e = _command(labels_sub, "export", "write every label to a file")
    e.add_argument("--out", required=True, help="output file")
    e.add_argument("--format", choices=("consolidated", "csv"), default="consolidated")
    e.add_argument("--model-type", default="splat", help="model_type of consolidated entries")
    e.set_defaults(run=run_export)

    i = _command(labels_sub, "import", "import a consolidated_{model}.json (all or nothing)")
    i.add_argument("file")
    i.set_defaults(run=run_import)


def _command(labels_sub, name: str, help_: str):
    p = labels_sub.add_parser(name, help=help_, description=help_)
    add_home_option(p)
    add_sae_option(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _build_options(p) -> None:
    p.add_argument("--top-k", type=int, default=50, help="features queued by a build")
    p.add_argument("--by", choices=("count", "explanation"), default=None,
                   help="activation count (default), or the best explanation")  # fmt: skip
    p.add_argument("--explained", choices=("well", "poorly", "none"), default=None,
                   help="with --by explanation (implied): which features to queue")  # fmt: skip


def _guarded(run):
    """Known errors of the store exit 2 with their message; so does an SAE variant (--sae,
    whose labels these are) the home does not serve."""

    def wrapped(args) -> int:
        home = splat_home(args.home)
        if args.sae != "default":
            from splat_core.query import Snapshot, UnknownSAEError

            try:
                Snapshot.open(home, args.sae)
            except UnknownSAEError as e:
                return fail(str(e))
        try:
            return run(args, home)
        except LabelConflict as e:
            return fail(f"{e}; retry")
        except (LabelError, OSError) as e:
            return fail(str(e))

    return wrapped


def n_features(home: Path, sae: str = "default") -> int | None:
    """The feature store's feature count, None while none is materialized."""
    with _reader(home, sae) as reader:
        return None if reader is None else reader.n_features


@contextmanager
def _reader(home: Path, sae: str = "default") -> Iterator:
    """The home's Reader (of SAE variant `sae`), None while no feature store is
    materialized."""
    from splat_core.store.catalog import read_catalog
    from splat_core.store.contract import stored_name

    if stored_name("feature_store", sae) not in read_catalog(home):
        yield None
        return
    from splat_core.query import MissingAssetError, Reader

    try:
        reader = Reader.open(home, sae)
        reader.n_features  # noqa: B018 (the feature store opens, or MissingAssetError)
    except MissingAssetError:
        yield None
        return
    with reader:
        yield reader


def _check_ids(home: Path, ids: list[int], sae: str) -> None:
    n = n_features(home, sae)
    for f in ids:
        if f < 0 or (n is not None and f >= n):
            where = f"[0, {n})" if n is not None else ">= 0"
            raise LabelError(f"unknown feature id {f}: not in {where}")


# --- subcommands ------------------------------------------------------------------------------


def _build(args, home: Path, store: LabelStore, include_labeled: bool = False) -> int:
    """Queue features as the build options say; returns how many were queued."""
    by = _by(args)
    if by == "explanation" and args.explained is None:
        raise LabelError("--by explanation needs --explained well|poorly|none")
    if by == "count" and args.explained is not None:
        raise LabelError("--explained goes with --by explanation")
    from splat_core.query import MissingAssetError, Reader

    try:
        with Reader.open(home, args.sae) as reader:
            if by == "count":
                return store.queue_build(reader.feature_counts(), args.top_k, include_labeled)
            from splat_core.investigate.label_scores import queue_by_explanation

            return queue_by_explanation(store, reader, args.explained, args.top_k,
                                        include_labeled)  # fmt: skip
    except MissingAssetError as e:
        raise LabelError(f"the labelling queue cannot be built: {e}") from None


@_guarded
def run_next(args, home: Path) -> int:
    if args.n < 0 or args.top_k < 0:
        return fail("-n and --top-k must be >= 0")
    store = LabelStore.open(home, args.sae)
    entries, built = store.queue_next(args.n), 0
    if not entries and not args.no_build:
        built = _build(args, home, store)
        entries = store.queue_next(args.n)
    if args.json:
        print_json({"built": built, "entries": entries})
        return 0
    if built:
        print(f"queued {built} features {_how(args)}")
    if not entries:
        print("the labelling queue is empty")
        return 0
    print(f"{'feature':>8} {'priority':>9}  reason")
    for x in entries:
        print(f"{x['feature_id']:>8} {x['priority']:>9.3f}  {x['reason']}")
    return 0


@_guarded
def run_build(args, home: Path) -> int:
    if args.top_k < 0:
        return fail("--top-k must be >= 0")
    built = _build(args, home, LabelStore.open(home, args.sae), args.include_labeled)
    if args.json:
        print_json({"built": built, "by": _by(args), "explained": args.explained})
    else:
        print(f"queued {built} features {_how(args)}")
    return 0


def _by(args) -> str:
    return args.by or ("explanation" if args.explained else "count")


def _how(args) -> str:
    return f"explained {args.explained}" if args.explained else "by activation count"


@_guarded
def run_set(args, home: Path) -> int:
    _check_ids(home, [args.feature], args.sae)
    store = LabelStore.open(home, args.sae)
    current = store.get(args.feature)
    fields = current.to_dict() if current is not None else {}
    for key in ("feature_id", "created_at", "updated_at", "version"):
        fields.pop(key, None)
    given = {"name": args.name, "category": args.category, "notes": args.notes,
             "confidence": args.confidence, "source": args.source, "rule": args.rule}  # fmt: skip
    fields.update({k: v for k, v in given.items() if v is not None})
    if fields.get("rule") is not None:
        from splat_core.investigate.label_scores import score_fields

        with _reader(home, args.sae) as reader:
            fields = score_fields(reader, args.feature, fields)
    expected = 0 if current is None else current.version  # unchanged since read, or conflict
    label = store.set(args.feature, expected_version=expected, **fields)
    if args.json:
        print_json(label.to_dict())
    else:
        print(f"feature {label.feature_id}: {label.name!r} [{label.category}] v{label.version}")
    return 0


@_guarded
def run_rescore(args, home: Path) -> int:
    from splat_core.investigate.label_scores import score_label_rules

    with _reader(home, args.sae) as reader:
        if reader is None:
            return fail("no feature store is materialized: there is nothing to score on")
        n = score_label_rules(LabelStore.open(home, args.sae), reader, force=args.force)
        version = reader.data_version
    if args.json:
        print_json({"rescored": n, "data_version": version})
    else:
        print(f"rescored {n} label rule(s) on data version {version}")
    return 0


@_guarded
def run_skip(args, home: Path) -> int:
    if args.feature is not None:
        _check_ids(home, [args.feature], args.sae)
    skipped = LabelStore.open(home, args.sae).queue_skip(args.feature, args.reason)
    if args.json:
        print_json({"skipped": skipped})
    else:
        print("nothing pending to skip" if skipped is None else f"skipped feature {skipped}")
    return 0


@_guarded
def run_add(args, home: Path) -> int:
    try:
        ids = [int(x) for x in args.ids.split(",") if x.strip()]
    except ValueError:
        return fail(f"ids must be comma-separated integers, got {args.ids!r}")
    if not ids:
        return fail("no feature ids given")
    _check_ids(home, ids, args.sae)
    LabelStore.open(home, args.sae).queue_add(ids, priority=args.priority, reason=args.reason)
    queued = list(dict.fromkeys(ids))
    if args.json:
        print_json({"queued": queued, "priority": args.priority, "reason": args.reason})
    else:
        print(f"queued {len(queued)} feature(s) at priority {args.priority:g}")
    return 0


@_guarded
def run_status(args, home: Path) -> int:
    st = LabelStore.open(home, args.sae).status()
    if args.json:
        print_json(st)
        return 0
    print(f"labels: {st['n_labels']}")
    print("  by category: " + ", ".join(f"{k} {v}" for k, v in st["by_category"].items()))
    print("  by source:   " + (", ".join(f"{k} {v}" for k, v in st["by_source"].items()) or "-"))
    print("queue: " + ", ".join(f"{k} {v}" for k, v in st["queue"].items()))
    return 0


@_guarded
def run_show(args, home: Path) -> int:
    _check_ids(home, [args.feature], args.sae)
    store = LabelStore.open(home, args.sae)
    with _reader(home, args.sae) as reader:
        from splat_core.investigate.label_scores import current_label

        label = current_label(store, reader, args.feature)  # rescored if stale
    history, entry = store.history(args.feature), store.queue_get(args.feature)
    if args.json:
        print_json({"feature_id": args.feature, "label": label and label.to_dict(),
                    "history": history, "queue": entry})  # fmt: skip
        return 0
    if label is None:
        print(f"feature {args.feature}: no label")
    else:
        print(f"feature {label.feature_id}: {label.name!r} [{label.category}] v{label.version}")
        for key in ("notes", "confidence", "source", "importance_percentile",
                    "stability_score", "research_label", "hypothesis_confidence",
                    "created_at", "updated_at"):  # fmt: skip
            value = getattr(label, key)
            if value not in (None, ""):
                print(f"  {key}: {value}")
        if label.rule is not None:
            print(f"  rule: {label.rule}")
        if label.rule_score is not None:
            sc = label.rule_score
            nums = ", ".join(f"{k} {sc[k]:.3f}" for k in ("f1", "precision", "recall", "auroc")
                             if isinstance(sc.get(k), int | float))  # fmt: skip
            print(f"  rule score (held out, {sc.get('target')}, {sc.get('confidence')} "
                  f"confidence, data version {sc.get('data_version')}): {nums}")  # fmt: skip
    if entry is not None:
        print(f"queue: {entry['status']} (priority {entry['priority']:.3f}) {entry['reason']}")
    if history:
        print(f"history ({len(history)}):")
        for h in history:
            print(f"  v{h['version']:<4} {h['written_at']}  {h['action']:<6} {h['name']!r} "
                  f"[{h['category']}] by {h['source']}")  # fmt: skip
    return 0


@_guarded
def run_export(args, home: Path) -> int:
    from splat_core.atomic import atomic_file

    store, out = LabelStore.open(home, args.sae), Path(args.out)
    if args.format == "csv":
        n = store.export_csv(out)
    else:
        data = store.export_consolidated(args.model_type)
        with atomic_file(out) as tmp:
            tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        n = len(data)
    result = {"path": str(out), "format": args.format, "n_labels": n}
    if args.json:
        print_json(result)
    else:
        print(f"wrote {n} labels to {out} ({args.format})")
    return 0


@_guarded
def run_import(args, home: Path) -> int:
    path = Path(args.file)
    if not path.is_file():
        return fail(f"no such file: {path}")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return fail(f"{path} is not a JSON file: {e}")
    store = LabelStore.open(home, args.sae)
    n = store.import_consolidated(obj, n_features=n_features(home, args.sae))
    if args.json:
        print_json({"path": str(path), "imported": n})
    else:
        print(f"imported {n} labels from {path}")
    return 0
