"""What several test modules share: the independent domain oracle, builders of test data,
and small utilities. The oracle is the game's rules written out here (the reference's
domain notes, §1.1, §1.2 and §2), not imported from the code under test, so a test that
compares the code with it can fail."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import torch
import zarr
from hypothesis import strategies as st

from splat_core import analysis
from splat_core.builds.samples import SampleTable
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import NULL, Vocab, WeaponVocab
from splat_core.model.set_completion import ModelParams, SetCompletionModel
from splat_core.sae import ARCHITECTURES, ReluSAE
from splat_core.sae.config import SAEConfig
from splat_core.sae.topk import TopKSAE
from splat_core.sparse import build_csc, open_csr
from splat_core.store import artifacts, catalog, lineage, publishing
from splat_core.store.contract import CSC_ZARR, CSR_ZARR

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")  # browser tests
DRIVER = shutil.which("chromedriver")
FIXTURE = ROOT / "tests" / "fixtures" / "reference_checkpoint"  # copied from shared/fixtures


# --- the domain oracle: the game's rules, written out -------------------------------------

PIECES = ("head", "clothes", "shoes")

MAIN_ONLY_BY_PIECE = {
    "head": ["comeback", "last_ditch_effort", "opening_gambit", "tenacity"],
    "clothes": ["ability_doubler", "haunt", "ninja_squid", "respawn_punisher", "thermal_ink"],
    "shoes": ["drop_roller", "object_shredder", "stealth_jump"],
}

MAIN_ONLY = [a for p in PIECES for a in MAIN_ONLY_BY_PIECE[p]]

PIECE_OF = {a: p for p in PIECES for a in MAIN_ONLY_BY_PIECE[p]}

STANDARD = [
    "ink_recovery_up",
    "ink_resistance_up",
    "ink_saver_main",
    "ink_saver_sub",
    "intensify_action",
    "quick_respawn",
    "quick_super_jump",
    "run_speed_up",
    "special_charge_up",
    "special_power_up",
    "special_saver",
    "sub_power_up",
    "sub_resistance_up",
    "swim_speed_up",
]

RUNGS = [3, 6, 12, 15, 21, 29, 38, 51, 57]


def slot_ap(mains: tuple[str, ...], subs: tuple[str, ...]) -> dict[str, int]:
    """Ability -> AP of a slot-level build: 10 per main, 3 per sub."""
    ap: Counter[str] = Counter()
    for a in mains:
        ap[a] += 10
    for a in subs:
        ap[a] += 3
    return dict(ap)


def expected_tokens(ap: dict[str, int]) -> list[str]:
    """The main-only abilities held, then each family's rungs up to its AP."""
    out = [a for a in MAIN_ONLY if ap.get(a, 0) > 0]
    for f in STANDARD:
        out += [f"{f}_{r}" for r in RUNGS if r <= ap.get(f, 0)]
    return out


@st.composite
def slot_builds(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A legal full build: (3 mains by piece, 9 subs).

    A random palette of families biases towards stacked builds as well as spread ones.
    """
    palette = draw(st.lists(st.sampled_from(STANDARD), min_size=1, max_size=14, unique=True))
    mains = tuple(draw(st.sampled_from(MAIN_ONLY_BY_PIECE[p] + palette)) for p in PIECES)
    subs = tuple(draw(st.lists(st.sampled_from(palette), min_size=9, max_size=9)))
    return mains, subs


@st.composite
def cumulative_token_sets(draw: st.DrawFn) -> list[str]:
    """Token lists that pass every check_token_set rule (in canonical order): at most one
    main-only per piece, any families at any top rung. The AP total is not constrained, so
    some need more than 57 AP (no build yields those)."""
    ap: dict[str, int] = {}
    for p in PIECES:
        a = draw(st.sampled_from([None, *MAIN_ONLY_BY_PIECE[p]]))
        if a is not None:
            ap[a] = 10
    families = draw(st.lists(st.sampled_from(STANDARD), max_size=5, unique=True))
    for f in families:
        ap[f] = draw(st.sampled_from(RUNGS))
    return expected_tokens(ap)


# --- utilities --------------------------------------------------------------------------------


def assert_json_close(got, want, path: str = "", rel: float = 1e-5, abs_: float = 1e-6) -> None:
    """Nested JSON values equal, floats to `rel`/`abs_`: the same computation in another
    process (another torch thread count) may sum in another order."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys differ"
        for key in want:
            assert_json_close(got[key], want[key], f"{path}.{key}", rel, abs_)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: lengths differ"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_json_close(g, w, f"{path}[{i}]", rel, abs_)
    elif isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, rel=rel, abs=abs_, nan_ok=True), path
    else:
        assert got == want, path


def quiet(_message: str) -> None:
    """A progress callback that prints nothing."""


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1, for servers a test starts."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def answers(url: str) -> bool:
    """Whether a GET of `url` answers 200 (False while the server is not up)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


# --- services a test starts as child processes (Dask, PostgreSQL, Streamlit, uvicorn) ---------


def start(argv: Sequence[str], env: dict[str, str], log: Path, **kwargs) -> subprocess.Popen:
    """A child in its own session (so that stopping it reaches nothing else), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv), env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, **kwargs,
        )  # fmt: skip


def stop(*procs: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM each child's process group (by its pid), then SIGKILL what lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        live = [p for p in procs if p.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        for proc in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))


def wait_for(ready: Callable[[], bool], timeout: float, what: str,
             procs: Sequence[subprocess.Popen] = ()) -> None:  # fmt: skip
    """Poll `ready` until true; fail early if one of `procs` exited."""
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [p.args for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"waiting for {what}: exited: {dead}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.2)


# --- materialized assets: direct reads, comparisons, hand-made tables -------------------------


def shard_entries(home) -> tuple:
    """(global sample ids, feature ids, values) of every activation shard under `home`,
    read straight from the CSR shards: the direct computation queries are checked against."""
    rows, cols, vals = [], [], []
    for shard in artifacts.open_current(home, "activations").values():
        m = shard.row_slice(0, shard.shape[0]).tocoo()
        rows.append(m.row + shard.sample_start)
        cols.append(m.col)
        vals.append(m.data)
    return tuple(map(np.concatenate, (rows, cols, vals)))


def artifact_content(root: Path) -> dict[str, object]:
    """Every Parquet table and Zarr array under a published version, by relative path."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*.parquet")):
        out[str(path.relative_to(root))] = pq.read_table(path)
    for meta in sorted(root.rglob("zarr.json")):
        node = zarr.open(str(meta.parent), mode="r")
        if isinstance(node, zarr.Array):
            out[str(meta.parent.relative_to(root))] = node[...]
    return out


def content_diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """The paths whose content differs (or exists on one side only)."""
    diff = sorted(set(a) ^ set(b))
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        equal = (np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
                 if isinstance(x, np.ndarray) else x.equals(y))  # fmt: skip
        if not equal:
            diff.append(key)
    return diff


def publish_table(home, asset: str, table: pa.Table, extra=None) -> None:
    """Publish `table` as analysis asset `asset` under `home` (`extra(dir)` adds files)."""

    def write(d):
        pq.write_table(table, d / f"{asset}.parquet")
        if extra:
            extra(d)
        artifacts.mark(d, asset)
        return {"rows": table.num_rows}

    publish_by_hand(home, asset, write)


def publish_by_hand(home, asset: str, write, partition: str | None = None) -> dict:
    """Published as the IO managers publish; a hand-made home lacks some of an asset's real
    inputs (no builds, no pooled vectors, no token_idf), so its lineage names those it has."""
    cat = catalog.read_catalog(home)
    have = lineage.entries(cat)
    inputs = [k for k in lineage.input_keys(asset, partition, cat) if k in have]
    return publishing.publish_asset(home, asset, write, partition, inputs=inputs)


# --- sparse stores ----------------------------------------------------------------------------

N_FEATURES = 300  # the width of the random test shards


def random_csr(n_rows: int, n_features: int, density: float, seed: int) -> sp.csr_matrix:
    """Random activations with ties (values on a 0.25 grid), empty rows and empty features;
    feature 7 fires on most rows so that it exceeds small memory budgets on its own."""
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_features, density=density, format="csr", random_state=rng)
    m.data = np.ceil(m.data * 8).astype(np.float32) / 4  # few distinct values -> many ties
    m = m.tolil()
    m[rng.random(n_rows) < 0.8, 7] = 1.5  # one dense feature, all tied
    m[:, 20:40] = 0  # empty features
    m[rng.choice(n_rows, n_rows // 10, replace=False), :] = 0  # empty rows
    m = m.tocsr().astype(np.float32)
    m.eliminate_zeros()
    m.sort_indices()
    return m


def expected_feature(stacked_csc: sp.csc_matrix, f: int) -> tuple[np.ndarray, np.ndarray]:
    """scipy's column f, reordered value desc, then sample asc."""
    a, b = stacked_csc.indptr[f], stacked_csc.indptr[f + 1]
    s, v = stacked_csc.indices[a:b], stacked_csc.data[a:b]
    order = np.lexsort((s, -v))
    return s[order], v[order]


# --- SAEs -------------------------------------------------------------------------------------

ALL_ARCHITECTURES = sorted(ARCHITECTURES)  # every registered SAE architecture


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def planted_codes(
    n: int, d: int = 32, m: int = 16, active: int = 3, noise: float = 0.02, seed: int = 0
):
    """Sparse non-negative combinations of `m` random unit directions in `d` dims + noise."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(m, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    codes = np.zeros((n, m))
    chosen = np.argsort(rng.random((n, m)), axis=1)[:, :active]
    np.put_along_axis(codes, chosen, rng.uniform(0.5, 2.0, size=(n, active)), axis=1)
    x = codes @ dirs + noise * rng.normal(size=(n, d))
    return x.astype(np.float32), dirs


def sae_numpy(sae, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x_hat, acts) as numpy, for small test data only."""
    with torch.no_grad():
        x_hat, acts = sae(torch.from_numpy(x))
    return x_hat.numpy().astype(np.float64), acts.numpy().astype(np.float64)


def relu_sae_with_dead_latents() -> ReluSAE:
    """A ReluSAE whose first five latents can never fire."""
    sae = ReluSAE(16, 40, gen(4))
    with torch.no_grad():
        sae.encoder.weight.normal_(0, 0.5, generator=gen(5))
        sae.decoder.weight.normal_(0, 1.0, generator=gen(6))
        sae.decoder_bias.normal_(0, 0.3, generator=gen(7))
        sae.encoder.bias[:5] = -100.0  # never fire
    return sae


# --- the hand-made investigation home: real writers, planted activations ----------------------

VOCAB = Vocab.canonical()

WEAPON_IDS = [4050, 4010, 7011, 0]  # two share Curling Bomb, two share Sprinkler

WVOCAB = WeaponVocab.from_weapon_ids(WEAPON_IDS)

N, F, HIDDEN = 60, 4, 8

PLANTED = {  # rung rule cases: out of order, not cumulative
    0: ["swim_speed_up_21", "swim_speed_up_3"],
    1: ["swim_speed_up_12", "swim_speed_up_6", "ninja_squid"],
    2: ["swim_speed_up_38", "swim_speed_up_3", "swim_speed_up_15", "comeback"],
    3: [NULL],
}


def _make_tokens(rng) -> list[list[str]]:
    out = []
    for i in range(N):
        if i in PLANTED:
            out.append(PLANTED[i])
            continue
        toks = []
        for piece in ("head", "clothes", "shoes"):
            if rng.random() < 0.4:
                toks.append(rng.choice([a for a in MAIN_ONLY if PIECE_OF[a] == piece]))
        for fam in rng.choice(
            ["swim_speed_up", "run_speed_up", "ink_saver_main", "quick_respawn"],
            size=2,
            replace=False,
        ):
            top = rng.choice(RUNGS[:6])
            toks += [f"{fam}_{r}" for r in RUNGS if r <= top and rng.random() < 0.8]
        out.append([str(t) for t in toks] or [NULL])
    return out


def _make_activations(rng, tokens) -> np.ndarray:
    a = np.zeros((N, F), np.float32)
    for i, toks in enumerate(tokens):
        ssu = top_rung(toks, "swim_speed_up")
        if ssu and rng.random() < 0.85:
            a[i, 0] = ssu / 8 + rng.integers(0, 4) * 0.25
        if "ninja_squid" in toks or rng.random() < 0.2:
            a[i, 1] = 1.0 + rng.integers(0, 8) * 0.5
        if rng.random() < 0.5:
            a[i, 2] = rng.integers(1, 9) * 0.125
    a[5, 0] = a[6, 0] = a[0, 0] = 4.0  # ties
    return a  # feature 3 never fires


def top_rung(tokens, ability) -> int:
    """Independent of the code under test: parse the names."""
    if ability in MAIN_ONLY:
        return 10 if ability in tokens else 0
    rungs = [int(t.rsplit("_", 1)[1]) for t in tokens if t.rsplit("_", 1)[0] == ability]
    return max(rungs, default=0)


def _publish(home, asset, write, partition=None):
    publish_by_hand(home, asset, write, partition)


def build_investigation_home(root: Path) -> tuple:
    """A home with vocab, 2 sample shards, CSR shards, the CSC store, feature_stats, a tiny
    random model and SAE. Returns (home, tokens, weapons (dense index), activations)."""
    rng = np.random.default_rng(7)
    tokens = _make_tokens(rng)
    weapons = rng.integers(0, len(WEAPON_IDS), size=N)
    a = _make_activations(rng, tokens)
    home = root / "home"
    stub = BuildTable(np.zeros(0), np.zeros(1), np.zeros(0), VOCAB, WVOCAB)
    _publish(home, "vocab", lambda d: artifacts.write_vocab_dir(d, VOCAB, WVOCAB))
    for part, (lo, hi) in (("000", (0, 30)), ("001", (30, N))):
        ids = np.arange(lo, hi)
        inputs = BuildTable.from_lists(
            [VOCAB.encode(tokens[i]) for i in ids], weapons[lo:hi], VOCAB, WVOCAB
        )
        table = SampleTable(ids, ids, np.zeros(len(ids), np.int16), inputs)
        _publish(home, "samples", lambda d, t=table: artifacts.write_samples_dir(d, t, stub), part)
        m = sp.csr_matrix(a[lo:hi])
        csr = (m.indptr, m.indices, m.data)
        _publish(
            home,
            "activations",
            lambda d, c=csr, s=lo: artifacts.write_activations_dir(d, c, F, s, {}),
            part,
        )

    def store(d):
        shards = [
            open_csr(catalog.current_path(home, "activations", p) / CSR_ZARR)
            for p in ("000", "001")
        ]
        build_csc(shards, d / CSC_ZARR, n_features=F, n_samples=N)
        artifacts.mark(d, "feature_store", shape=[N, F])
        return {}

    _publish(home, "feature_store", store)

    def stats(d):
        csc = artifacts.open_artifact(catalog.current_path(home, "feature_store"))
        return artifacts.write_table_dir(d, "feature_stats", analysis.feature_stats(csc, N))

    _publish(home, "feature_stats", stats)
    torch.manual_seed(0)
    params = ModelParams(
        len(VOCAB), len(WVOCAB), 8, HIDDEN, len(VOCAB), 1, 2, 4, pad_token_id=VOCAB.pad_id
    )
    model = SetCompletionModel.from_params(params).eval()
    _publish(
        home, "base_model", lambda d: artifacts.write_model_dir(d, model, params, {}, "trained")
    )
    sae = TopKSAE(HIDDEN, F, k=2, generator=torch.Generator().manual_seed(1)).eval()
    with torch.no_grad():
        sae.b_enc.copy_(torch.tensor([0.5, 0.2, 0.1, 0.0]))  # feature 0 fires often
    config = SAEConfig(arch="topk", input_dim=HIDDEN, n_features=F, k=2)
    _publish(home, "sae", lambda d: artifacts.write_sae_dir(d, sae, config, {}, "trained"))
    return home, tokens, weapons, a


def run_splat(capsys, home, *argv) -> tuple[int, str, str]:
    """`splat ARGV --home HOME` in this process: (exit code, stdout, stderr)."""
    from splat_cli.main import main

    code = main([*map(str, argv), "--home", str(home)])
    out = capsys.readouterr()
    return code, out.out, out.err


def json_roundtrip(obj):
    """obj as `--json` prints it (tuples become lists, odd types strings)."""
    return json.loads(json.dumps(obj, default=str))


@contextlib.contextmanager
def seed_map_by_pca():
    """The seed profile's feature map made by PCA while the bench fixtures write their small
    seed stores: UMAP's ~20 s compile is paid once, in tests/core/analysis/test_feature_map.py."""
    from splat_cli.bench import seed_store

    load = seed_store.load_config

    def pca(*args, **kwargs):
        config = load(*args, **kwargs)
        return replace(config, feature_map=replace(config.feature_map, method="pca"))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(seed_store, "load_config", pca)
        yield
