"""`splat sae`: the SAE variants of a home (store/variants.py): several SAEs trained on the
same pooled vectors, each with its own activations, feature store, analysis tables and
explanations. `splat materialize` computes every variant (or `--sae NAME`); readers address
one with `--sae NAME`, the API with `?sae=NAME`, the explorer with its SAE picker."""

from __future__ import annotations

from splat_cli.common import add_home_option, add_profile_options, fail, print_json
from splat_core.store import homes, variants
from splat_core.store.homes import splat_home


def register(sub) -> None:
    p = sub.add_parser("sae", help="the SAE variants of the home: add, list, remove")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="define an SAE variant: NAME key=value ... (sae.* "
                                       "settings; `features` is n_features)")  # fmt: skip
    add.add_argument("name")
    add.add_argument("settings", nargs="*", metavar="key=value")
    add_profile_options(add)
    add_home_option(add)
    add.set_defaults(run=run_add)
    ls = verbs.add_parser("list", help="the home's SAE variants and their settings")
    add_home_option(ls)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=run_list)
    rm = verbs.add_parser("remove", help="forget a variant's definition (its published "
                                         "versions stay served until replaced)")  # fmt: skip
    rm.add_argument("name")
    add_home_option(rm)
    rm.set_defaults(run=run_remove)


def _home(args):
    return homes.resolve(splat_home(args.home))


def run_add(args) -> int:
    from splat_core.pipeline.sae_variants import define_variant  # imports torch: on use only

    home = _home(args)
    try:
        changed = define_variant(home, args.profile, args.overrides,
                                 " ".join([args.name, *args.settings]))  # fmt: skip
    except ValueError as e:
        return fail(str(e))
    verb = "defined" if changed else "already defined as"
    print(f"SAE variant {args.name!r} {verb}: {' '.join(variants.settings_of(home, args.name))}")
    print(f"materialize it with: splat materialize --sae {args.name}")
    return 0


def run_list(args) -> int:
    defined = variants.defined(_home(args))
    if args.json:
        print_json({n: list(s) for n, s in defined.items()})
        return 0
    for name, settings in defined.items():
        print(f"{name:<20} {' '.join(settings) or '(the profile settings)'}")
    return 0


def run_remove(args) -> int:
    try:
        variants.forget(_home(args), args.name)
    except (KeyError, ValueError) as e:
        return fail(str(e))
    print(f"SAE variant {args.name!r} removed from the definitions")
    return 0
