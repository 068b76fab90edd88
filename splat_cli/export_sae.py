"""`splat export sae --format saelens DIR`: the served SAE as a directory that SAELens loads
(`sae_lens.SAE.load_from_disk(DIR)`); the conversion is splat_core/sae/saelens.py."""

from __future__ import annotations

from splat_cli.common import add_home_option, add_sae_option, fail, print_json, sae_of
from splat_core.store.homes import splat_home

FORMATS = ("saelens",)


def register(sub) -> None:
    help_ = "write the home's SAE in another library's format (SAELens)"
    p = sub.add_parser("sae", help=help_, description=help_)
    p.add_argument("out", metavar="DIR", help="directory to write (new, empty or a past export)")
    p.add_argument("--format", required=True, choices=FORMATS, help="saelens: cfg.json + "
                   "sae_weights.safetensors, as SAELens 6 saves an SAE")  # fmt: skip
    add_home_option(p)
    add_sae_option(p)
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    # imported on use: torch loads with them, `splat --help` need not
    from splat_core.query import DamagedError, Reader
    from splat_core.sae.saelens import export_saelens
    from splat_core.store.artifacts import open_artifact

    try:
        with Reader.open(splat_home(args.home), sae_of(args)) as reader:
            sae = open_artifact(reader.path("sae"))
            provenance = {"sae_version": reader.versions["sae"], "generation": reader.generation,
                          "sae_variant": reader.sae}  # fmt: skip
            result = export_saelens(sae, args.out, provenance)
    except (ValueError, FileNotFoundError) as e:
        return fail(str(e))
    except KeyError as e:  # an SAE variant the home does not serve
        return fail(str(e))
    except DamagedError as e:
        return fail(f"damaged data: {e} (see `splat verify`)", code=1)
    if args.json:
        print_json(result)
        return 0
    print(f"wrote {result['path']}: SAELens {result['architecture']} SAE from splat "
          f"{result['splat_arch']} (d_in {result['d_in']}, d_sae {result['d_sae']}, "
          f"sae version {provenance['sae_version']})")  # fmt: skip
    for name, shape in result["tensors"].items():
        print(f"  {name:<9} {shape}")
    if result["note"]:
        print(f"note: {result['note']}")
    print(f"load it with: sae_lens.SAE.load_from_disk({str(result['path'])!r})")
    return 0
