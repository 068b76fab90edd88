"""`splat mcp`: the investigation tools as an MCP server over stdio, for AI assistants.

Each tool is a thin wrapper over `splat_core.investigate` (or the label store) returning the
same JSON the command line prints with --json. Known errors (an unknown feature, family,
token or weapon) come back as tool errors carrying the reason, so the assistant can fix
its call. Every tool takes an optional `sae`: the SAE variant to read (and label) when the
home serves several (default: the default one). stdout belongs to the protocol: nothing
else may print there.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import json

from splat_cli.common import add_home_option, fail
from splat_core.store.homes import splat_home

INSTRUCTIONS = """\
Tools to investigate the features of a sparse autoencoder (SAE) trained on a Splatoon 3
gear-build model. A build is a weapon plus ability tokens: main-only abilities are bare
names (stealth_jump), stackable families are cumulative AP rung tokens (swim_speed_up_3,
_6, _12, _15, _21, _29, _38, _51, _57; 21 AP holds every rung up to 21). Samples are
partial builds. Protocol, from a feature id to a label:
1. feature_overview(feature_id): stats, top tokens, ability shares, weapons, contexts,
   existing label. Treat what you see as hypotheses (correlation), not findings.
   explain_feature(feature_id): input rules that predict where it fires, scored on
   held-out samples, and where the best one is wrong; score_rule tests your own rule.
2. coverage(feature_id): the concept lives in the core (25-75% of the effective max);
   an ability in >= 50% of the core can headline the label, < 30% is a tail marker.
3. family_sweep for the top 2-3 families; heatmap(primary, secondary) for conditional
   effects; binary_sweep for main-only abilities; weapon_sweep, then kit_sweep if one
   weapon dominates; token_effects for suppressors. Trust groups with n >= 20 only.
4. decoder(feature_id): what the feature pushes the model to predict (promoted and
   suppressed tokens, importance percentile, similar features).
5. whatif(feature_id, ...): the causal test. Edit the top examples (remove/add tokens,
   raise a family, swap the weapon) and re-run the model: a real driver moves the
   activation when edited, a mere correlate does not. steer(feature_id, op, value)
   shows the output side: clamp or scale the feature and see which tokens the model
   would now add to the build.
6. set_label(feature_id, name, category, notes, confidence): name what the core shares
   (mechanical "SCU 29+", tactical "Ninja Squid + SSU on slayers", strategic "Positional
   survival - midrange"); put the evidence (sweep deltas, whatif deltas, decoder groups)
   in the notes. label_queue_next gives the next feature to investigate.
A home may serve several SAEs trained on the same vectors: every tool takes an optional
`sae` (the variant's name; feature ids and labels are each variant's own).
Populations are stated in every result: sweeps average over all samples (zeros included)
unless asked for firing samples only. Quantile levels are fractions (0.9 = 90th pct)."""

FEATURE = "feature_id: the SAE feature (0 .. n_features-1)."


def register(sub) -> None:
    p = sub.add_parser("mcp", help="serve the investigation tools over MCP (stdio)")
    add_home_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        server = build_server(splat_home(args.home))
    except ImportError as e:
        return fail(f"splat mcp needs the MCP SDK 2.x (pip install 'mcp==2.3.0'): {e}")
    server.run("stdio")
    return 0


def _plain(x):
    if hasattr(x, "to_dict"):
        return x.to_dict()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.asdict(x)
    if hasattr(x, "item"):  # numpy scalars
        return x.item()
    return str(x)


def dumps(obj) -> str:
    return json.dumps(obj, default=_plain)


def build_server(home):
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from splat_core import investigate as inv
    from splat_core.investigate import explanations, names
    from splat_core.query import LiveReader, Reader

    server = MCPServer("splat", instructions=INSTRUCTIONS, log_level="WARNING")
    live = LiveReader(home)  # each call takes the newest snapshot: publishes are picked up
    current_sae = contextvars.ContextVar("sae", default="default")  # the call's `sae`

    def reader() -> Reader:
        return live.get(current_sae.get())

    def tool(description: str):
        """Register fn as a tool whose known errors become readable tool errors."""

        def wrap(fn):
            def call(*args, sae: str | None = None, **kwargs):
                token = current_sae.set(sae or "default")
                try:
                    if sae:
                        reader()  # an SAE variant the home does not serve: say which it does
                    return dumps(fn(*args, **kwargs))
                except (KeyError, ValueError, FileNotFoundError, IndexError) as e:
                    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
                    raise ToolError(str(msg)) from None
                finally:
                    current_sae.reset(token)

            signature = inspect.signature(fn)
            extra = inspect.Parameter(
                "sae", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
            )
            params = [*signature.parameters.values(), extra]
            call.__name__, call.__doc__ = fn.__name__, description
            call.__signature__ = signature.replace(parameters=params, return_annotation="str")
            call.__annotations__ = {**fn.__annotations__, "sae": "str | None", "return": "str"}
            server.add_tool(
                call, name=fn.__name__, description=description, structured_output=False
            )
            return fn

        return wrap

    @tool(
        f"First look at a feature (start here). {FEATURE} Returns stats over all samples "
        "(firing rate, ReLU-floor share, quantiles of nonzero values), top tokens and "
        "ability shares (activation-weighted vs base rates), top weapons, top contexts and "
        "the existing label. Flags add token effects, regions+coverage, main-only "
        "abilities and kits."
    )
    def feature_overview(
        feature_id: int,
        top_k: int = 10,
        enrichment: bool = False,
        regions: bool = False,
        binary: bool = False,
        kits: bool = False,
        high_quantile: float = 0.9,
    ) -> dict:
        return inv.overview(
            reader(),
            feature_id,
            top_k=top_k,
            enrichment=enrichment,
            regions=regions,
            binary=binary,
            kits=kits,
            high_quantile=high_quantile,
        )

    @tool(
        f"Activation by the highest rung of one family each sample holds (0 = absent), "
        f"mean/std/stderr/n, firing rate and delta vs absent. {FEATURE} family: e.g. "
        "swim_speed_up, SSU, or a main-only ability (absent/present). population: 'all' "
        "(zeros included, default) or 'firing'."
    )
    def family_sweep(feature_id: int, family: str, population: str = "all") -> dict:
        return inv.family_sweep(reader(), feature_id, family, population)

    @tool(
        "2D conditional sweep: activation per (rung of x, rung of y) cell, delta vs the "
        "(0, 0) cell; 1D sweeps hide effects that only appear at a high primary rung. "
        "x_rungs/y_rungs optionally bin rungs (a sample goes to the largest listed rung "
        "at or below its own)."
    )
    def heatmap(
        feature_id: int,
        x: str,
        y: str,
        x_rungs: list[int] | None = None,
        y_rungs: list[int] | None = None,
        population: str = "all",
    ) -> dict:
        return inv.heatmap(reader(), feature_id, x, y, x_rungs, y_rungs, population)

    @tool(
        "Activation per weapon and weapon class (mean over all samples of each weapon, "
        "delta vs the overall mean); warns when one weapon dominates."
    )
    def weapon_sweep(
        feature_id: int, min_n: int = 10, top_k: int = 20, population: str = "all"
    ) -> dict:
        return inv.weapon_sweep(reader(), feature_id, min_n, top_k, population)

    @tool("Activation per sub weapon, special weapon and sub+special kit.")
    def kit_sweep(
        feature_id: int, min_n: int = 10, top_k: int = 15, population: str = "all"
    ) -> dict:
        return inv.kit_sweep(reader(), feature_id, min_n, top_k, population)

    @tool(
        "Main-only abilities (comeback, ninja_squid, stealth_jump, ...): mean with vs "
        "without over all samples, Cohen's d, and enrichment among the high activations "
        "(firing samples >= the high_quantile of nonzero values, a fraction)."
    )
    def binary_sweep(feature_id: int, high_quantile: float = 0.9, min_n: int = 20) -> dict:
        return inv.binary_sweep(reader(), feature_id, high_quantile, min_n)

    @tool(
        "Anti-flanderization: share of core (25-75% of effective max) vs tail (> 90%) "
        "samples holding each ability and weapon, with a verdict (headline >= 50% of the "
        "core, supporting >= threshold, tail_marker, minor) and flanderized weapons."
    )
    def coverage(feature_id: int, threshold: float = 0.3) -> dict:
        return inv.coverage(reader(), feature_id, threshold)

    @tool(
        "Enhancer and suppressor tokens with effect sizes over all samples: mean with "
        "vs without, delta, Cohen's d, and P(token | high) / P(token | all). collapse=True "
        "groups rungs into abilities."
    )
    def token_effects(
        feature_id: int,
        collapse: bool = False,
        high_quantile: float = 0.9,
        min_n: int = 20,
        top_k: int = 15,
    ) -> dict:
        return inv.token_effects(reader(), feature_id, collapse, high_quantile, min_n, top_k)

    @tool(
        "Output side: W_out . d_f per token (logit change per unit of activation), "
        "promoted and suppressed tokens, per-ability and per-rung summaries, influence "
        "and importance percentiles (0-100), most similar decoder directions."
    )
    def decoder(
        feature_id: int,
        top_k: int = 15,
        exclude_families: list[str] | None = None,
        n_similar: int = 10,
    ) -> dict:
        return inv.decoder_analysis(reader(), feature_id, top_k, exclude_families or (), n_similar)

    @tool(
        "Causal test: edit builds, re-run the model and the SAE, report the feature's "
        "activation change. add: tokens to add (swim_speed_up_21, stealth_jump); remove: "
        "tokens or whole families; raise_to: 'family=rung' (adds its missing rungs up to "
        "it); swap_weapons: weapon ids. By default over the feature's top n_examples "
        "(source 'top' or 'core'); give weapon_id (+ abilities {name: AP}) to edit one "
        "build instead. No edits: a default battery."
    )
    def whatif(
        feature_id: int,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        raise_to: list[str] | None = None,
        swap_weapons: list[int] | None = None,
        n_examples: int = 50,
        source: str = "top",
        weapon_id: int | None = None,
        abilities: dict[str, int] | None = None,
    ) -> dict:
        r = reader()
        edits = inv.parse_edits(
            r.encoder.weapon_vocab, add or (), remove or (), raise_to or (), swap_weapons or ()
        )
        if weapon_id is not None:
            return inv.whatif_build(r, feature_id, weapon_id, abilities or {}, edits)
        return inv.whatif_examples(r, feature_id, edits, n_examples, source)

    @tool(
        "Steering: edit features in the SAE reconstruction of the pooled vector (the SAE's "
        "error kept, so no edit = the model's own output) and re-run the output layer. "
        "op: 'clamp' (set to value), 'scale' (multiply), 'add', or 'direct' (add value x "
        "the decoder direction to the raw pooled vector); applied to feature_id and "
        "also_features. Every output token's probability change, ranked, and the completed "
        "build (tokens > 0.5 not in the input) before/after. Over the feature's top "
        "n_examples (source 'top' or 'core': mean deltas, standard errors), or one build "
        "with weapon_id (+ abilities {name: AP})."
    )
    def steer(
        feature_id: int,
        op: str,
        value: float,
        also_features: list[int] | None = None,
        n_examples: int = 50,
        source: str = "top",
        weapon_id: int | None = None,
        abilities: dict[str, int] | None = None,
    ) -> dict:
        r = reader()
        edits = [inv.FeatureEdit(f, op, value) for f in [feature_id, *(also_features or ())]]
        if weapon_id is not None:
            return inv.steer(r, weapon_id, abilities or {}, edits)
        return inv.steer_examples(r, feature_id, edits, source, n_examples)

    @tool(
        "Causal interaction of two families: on the feature's examples set x and y to each "
        "cell of a rung grid (0 = absent; default rungs 3,12,21,29, main-only 10), re-run "
        "the model, and report per cell the mean activation and the interaction term "
        "A(x,y) - A(x,0) - A(0,y) + A(0,0) with its standard error and z, the main effects, "
        "and the strongest cell. With z: the three-way term on a 2x2x2 grid (absent vs "
        "rungs [rx, ry, rz], default 12) and the pairwise terms with the third absent."
    )
    def interaction(
        feature_id: int,
        x: str,
        y: str,
        z: str | None = None,
        x_rungs: list[int] | None = None,
        y_rungs: list[int] | None = None,
        rungs: list[int] | None = None,
        n_examples: int = 50,
        source: str = "top",
    ) -> dict:
        if z is not None:
            return inv.interaction3(reader(), feature_id, x, y, z, rungs, n_examples, source)
        return inv.interaction(reader(), feature_id, x, y, x_rungs, y_rungs, n_examples, source)

    @tool(
        "Minimal activating sets: for each of n_examples examples, the smallest subsets of "
        "its tokens (weapon kept) whose re-computed activation stays >= fraction x the "
        "full build's, searched size by size within max_evals model runs per example; "
        "aggregated: each minimal set with how many examples had it, each token's share. "
        "An empty set means the weapon alone suffices. source 'core': seeded random "
        "examples from the core region instead of the top ones."
    )
    def minimal_sets(
        feature_id: int,
        n_examples: int = 20,
        fraction: float = 0.5,
        max_tokens: int = 12,
        max_evals: int = 4096,
        source: str = "top",
        seed: int = 0,
    ) -> dict:
        return inv.minimal_sets(
            reader(), feature_id, n_examples, fraction, max_tokens, max_evals,
            source=source, seed=seed,
        )  # fmt: skip

    @tool(
        "Contrastive itemsets (observational): ability sets (tokens with collapse=false) of "
        "size 1..max_size held by >= min_support of the high group (firing samples at or "
        "above high_quantile of the nonzero activations), with support among the high "
        "group and all samples and lift = their ratio, largest lift first. A set matters "
        "when its lift exceeds max_subset_lift."
    )
    def contrastive_itemsets(
        feature_id: int,
        high_quantile: float = 0.9,
        max_size: int = 3,
        min_support: float = 0.05,
        top_k: int = 20,
        collapse: bool = True,
    ) -> dict:
        return inv.contrastive_itemsets(
            reader(), feature_id, high_quantile, max_size, min_support, top_k, collapse
        )

    @tool(
        "Two features over all samples: counts where both / only one / neither fire, "
        "P(other fires | feature fires) and the reverse (with standard errors), Jaccard, "
        "Pearson over all samples and over co-firing ones, decoder cosine, shared top "
        "tokens, and (sample_id, a_f, a_g) where either fires (a seeded max_points pick)."
    )
    def compare_features(
        feature_id: int, other_id: int, max_points: int = 200, seed: int = 0
    ) -> dict:
        from splat_core.investigate.compare import compare_features as compare

        return compare(reader(), feature_id, other_id, max_points, seed)

    @tool(
        "Histogram over every output token of the feature's direct logit effect "
        "(W_out . d_f per unit of activation): bin edges and counts, mean and std, and the "
        f"top_k tokens it raises and lowers most. {FEATURE}"
    )
    def logit_histogram(feature_id: int, bins: int = 40, top_k: int = 10) -> dict:
        from splat_core.investigate.compare import logit_histogram as histogram

        return histogram(reader(), feature_id, bins, top_k)

    @tool(
        "The feature's top k distinct inputs (weapon + tokens): identical examples merged, "
        f"each with its count, max and mean activation and sample ids. {FEATURE}"
    )
    def grouped_examples(feature_id: int, k: int = 20) -> list:
        from splat_core.investigate.examples import grouped_examples as grouped

        return [g.to_dict() for g in grouped(reader(), feature_id, k)]

    @tool(
        "Where the feature does not fire: k random samples, and k hard negatives: silent "
        f"samples holding the most of its n_tokens top tokens (seeded). {FEATURE}"
    )
    def non_activating(feature_id: int, k: int = 20, seed: int = 0, n_tokens: int = 3) -> dict:
        from splat_core.investigate.examples import non_activating as negatives

        return negatives(reader(), feature_id, k, seed, n_tokens).to_dict()

    @tool(
        "Rules over the input that predict where the feature fires, best first, each "
        "scored on held-out samples (precision, recall, F1, AUROC; null_f1/null_auroc "
        "against random positives) with a confidence (high/medium/low/none); for the best "
        "rule, k hard_negatives (it holds, the feature is silent) and k misses (the feature "
        f"fires, the rule fails). Empty when the feature fires too rarely. {FEATURE}"
    )
    def explain_feature(feature_id: int, k: int = 5) -> dict:
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        return explanations.explain_feature(reader(), feature_id, k)

    @tool(
        "Score any rule (your hypothesis, a label's claim) for the feature as "
        "explain_feature scores its own. rule: conditions joined by & (and), terms by | "
        "(or): 'run_speed_up >= 21 & class = splatling | ninja_squid', 'no quick_respawn', "
        "'special in {Trizooka, Zipcaster}', 'weapon = \"Splattershot Jr.\"' (families "
        "take full names and AP, raised to the next rung). A bad rule's error names the column."
    )
    def score_rule(feature_id: int, rule: str) -> dict:
        return explanations.score_rule(reader(), feature_id, rule)

    @tool(
        "Is a family sweep's effect real? Its deltas vs absent (all samples) on two seeded "
        "disjoint halves with their agreement (Pearson r, sign agreement over rungs with >= "
        "min_n samples in both), and a shuffle null (activations permuted n_perm times) with "
        f"p-values for the peak |delta| and eta squared. {FEATURE}"
    )
    def validate_sweep(
        feature_id: int, family: str, n_perm: int = 200, seed: int = 0, min_n: int = 20
    ) -> dict:
        return inv.validate_sweep(reader(), feature_id, family, n_perm, seed, min_n)

    @tool(
        "Are token effects real? Per-item deltas on two seeded halves (correlation, overlap "
        "of the top_k enhancers) and, for token_effects' top items, a permutation p-value "
        "(two-sided, uncorrected) with a Bonferroni-corrected one. collapse=True: abilities."
    )
    def validate_token_effects(
        feature_id: int,
        collapse: bool = True,
        n_perm: int = 200,
        seed: int = 0,
        top_k: int = 10,
        min_n: int = 20,
    ) -> dict:
        return inv.validate_token_effects(reader(), feature_id, collapse, n_perm, seed, top_k,
                                          min_n)  # fmt: skip

    @tool(
        "Is an explanation rule's fit real? Its precision/recall/F1 on two seeded halves "
        "and on the explainer's fit and held-out halves, and its F1 against a shuffle null "
        "(activations permuted) with a p-value. rule: as in score_rule."
    )
    def validate_rule(feature_id: int, rule: str, n_perm: int = 200, seed: int = 0) -> dict:
        return inv.validate_rule(reader(), feature_id, rule, n_perm, seed)

    @tool(
        "Within-family interference on the model: for the feature's examples holding the "
        "family (source 'top' or 'core'), the activation change with only its top rung "
        "token removed (lower rungs kept) and with the whole family removed, as means with "
        "standard errors, and the share of the full removal's change the top rung alone "
        "gives, with paired sign-flip p-values. Main-only abilities: the test does not apply."
    )
    def interference(
        feature_id: int,
        family: str,
        n_examples: int = 50,
        source: str = "top",
        seed: int = 0,
        n_perm: int = 200,
    ) -> dict:
        return inv.interference(reader(), feature_id, family, n_examples, source, seed, n_perm)

    @tool(f"The feature's k highest activations with weapon and tokens. {FEATURE}")
    def top_examples(feature_id: int, k: int = 20) -> list:
        return [e.to_dict() for e in reader().top_examples(feature_id, k)]

    @tool("Features whose decoder pushes a token's logit up (sign '+') or down ('-').")
    def features_for_token(token: str, sign: str = "+", k: int = 20) -> list:
        return reader().token_features(names.token(token), k, sign)

    def labels():
        from splat_core.labels import LabelStore

        return LabelStore.open(home, current_sae.get())

    @tool(f"The feature's current label (null if unlabelled). {FEATURE}")
    def get_label(feature_id: int):
        reader().activations(feature_id, limit=0)
        label = labels().get(feature_id)
        return None if label is None else label.to_dict()

    @tool(
        "Save a label (source 'mcp'). category: none | mechanical | tactical | strategic "
        "| auxiliary. notes: the evidence. confidence: 0-1. importance_percentile: the "
        "decoder tool's (0-100). expected_version: the version you read, to refuse "
        "overwriting a newer label."
    )
    def set_label(
        feature_id: int,
        name: str,
        category: str = "none",
        notes: str = "",
        confidence: float | None = None,
        importance_percentile: float | None = None,
        expected_version: int | None = None,
    ) -> dict:
        from splat_core.labels import LabelConflict

        reader().activations(feature_id, limit=0)
        try:
            label = labels().set(
                feature_id,
                name=name,
                category=category,
                notes=notes,
                confidence=confidence,
                source="mcp",
                expected_version=expected_version,
                importance_percentile=importance_percentile,
            )
        except LabelConflict as e:  # someone saved a newer version: say so, don't crash
            raise ValueError(str(e)) from None
        return label.to_dict() if hasattr(label, "to_dict") else label

    @tool("The next n features to investigate, from the labelling queue.")
    def label_queue_next(n: int = 5):
        return labels().queue_next(n)

    @tool("Labelling progress: counts by category and the queue.")
    def label_status():
        return labels().status()

    return server
