"""A deterministic synthetic post-mortem corpus, for scale benchmarks only.

Real post-mortems are few and hand-written; benchmarks need thousands. This writes files in
the format of data/templates/postmortem.md, drifting from it the way real files do: most have
front matter and the template's sections, some use free-form headings or none of the front
matter, some are unfinished drafts.

Each file has 1-4 root causes drawn from ~25 failure themes. A cause's text is assembled from
several interchangeable fragments of its theme (plus the file's own service, model, numbers),
so two causes of one theme read alike without being the same string: the theme-clustering
benchmark can recover the themes, but not by exact match. `labels.csv` beside the files says
which theme each cause was drawn from.

Same `n` and `seed` give the same bytes: one `random.Random(seed)` drives everything, and
nothing depends on the clock, the file system order or hash order.

    python bench/generate.py OUT_DIR --n 10000 [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Bump when the output changes, so a corpus cached by an older generator is rebuilt.
GENERATOR_VERSION = 1
MANIFEST_NAME = "manifest.json"
LABELS_NAME = "labels.csv"

# Incidents start between these instants: eight quarters, 2025-Q1 .. 2026-Q4 (to November).
FIRST_START = datetime(2025, 1, 1, tzinfo=UTC)
LAST_START = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


@dataclass(frozen=True)
class Theme:
    """One recurring failure: the fragments any cause of this theme is assembled from.

    `trend` tilts how often the theme occurs over the two years (+1 rising, -1 fading), so
    the corpus has trends for the quarterly review to find.
    """

    key: str
    category: str
    weight: float
    trend: int
    headlines: tuple[str, ...]  # incident titles when this theme is the primary cause
    titles: tuple[str, ...]  # root-cause titles
    setups: tuple[str, ...]  # how the system was set up
    mechanisms: tuple[str, ...]  # what went wrong in it
    consequences: tuple[str, ...]  # what users saw
    evals_missed: tuple[str, ...]  # why the evals did not catch it
    changes: tuple[str, ...]  # timeline: the triggering change
    diagnoses: tuple[str, ...]  # timeline: what was found
    fixes: tuple[str, ...]  # immediate mitigation
    actions: tuple[str, ...]  # systemic follow-ups
    eval_case: str  # evals/<area>/<name>.yaml
    checks: tuple[str, ...]
    samples: tuple[str, ...]  # redacted failing outputs
    tags: tuple[str, ...]


THEMES: tuple[Theme, ...] = (
    Theme(
        "stale_retrieval_index", "retrieval", 1.3, 0,
        ("{svc_title} quoted outdated {doc_kind} for {days} days because the nightly re-index stopped",
         "{svc_title} answered from a stale retrieval index after {doc_kind} were updated"),
        ("Nightly re-index silently stopped refreshing the index", "The serving index went stale",
         "Retrieval index was not rebuilt after the {doc_kind} changed"),
        ("The {index_old} index behind {service} is rebuilt every night from the CMS export.",
         "{service} grounds its answers in a vector index that a scheduled job refreshes from the {doc_kind}.",
         "Answers are built from chunks retrieved from the {index_old} index, which should be at most a day old."),
        ("The indexer could not read its source, logged a warning, published zero documents and still exited with status 0.",
         "The refresh job kept failing on an expired credential, and the serving alias stayed on the last good build.",
         "A schema change in the export made the loader skip every updated document without raising an error."),
        ("For {days} days answers were grounded in a snapshot that aged by one day per night.",
         "Users were told about {doc_kind} that no longer applied.",
         "The retrieved chunks carried update dates weeks older than the live pages."),
        ("The answer-quality eval runs against a frozen fixture index, so it proves the model summarises well, not that the production index is current.",
         "No eval checks the freshness of the serving index; the suite never queries the production index.",
         "Our evals use a snapshot of the corpus checked into the eval repo and missed the staleness entirely."),
        ("Nightly indexer run exits 0 after publishing zero documents", "New {doc_kind} published; the live index stays on {index_old}"),
        ("Trace shows retrieved chunks older than the live page", "Index metadata confirms the serving alias still points at {index_old}"),
        ("Rebuilt the index by hand and switched the alias to {index_new}", "Rotated the indexer credential and re-ran the index build"),
        ("Fail the indexer when it publishes fewer documents than the previous build",
         "Alert when the serving index is older than 36 hours", "Add an index-freshness panel to the {service} dashboard"),
        "evals/retrieval/index-freshness.yaml",
        ("asks about the five most recently changed pages and asserts the answer cites their current version",
         "asserts the newest document in the serving index is less than a day old"),
        ("The Starter plan costs the old price per month and includes 3 seats.",
         "According to the refund policy (last updated last year), refunds take 30 days."),
        ("retrieval", "index-freshness"),
    ),
    Theme(
        "prompt_without_evals", "prompt", 1.4, -1,
        ("{svc_title} gave wrong answers after a system prompt change shipped without an eval run",
         "Untested prompt release {prompt_v_new} broke {service} replies"),
        ("Prompt change shipped without running the eval suite", "System prompt {prompt_v_new} released untested",
         "Prompt hotfix bypassed the eval gate"),
        ("Prompts for {service} live in the application repo and ship with ordinary deploys.",
         "The system prompt is versioned ({prompt_v} before this change) and reviewed like code.",
         "Prompt edits go through a pull request, and the eval suite is meant to run on every prompt change."),
        ("A one-line wording change to the system prompt was merged as a copy edit and deployed without an eval run.",
         "The prompt change was labelled as a hotfix, which skips the eval gate in CI.",
         "Reviewers approved the diff because it looked cosmetic; nothing forced the eval suite to run."),
        ("The new wording changed how the model handled {pct}% of requests.",
         "Replies became noticeably worse for one request type that the edit was never meant to touch.",
         "The assistant started refusing or deflecting requests it used to answer."),
        ("The eval suite was never run on {prompt_v_new}: the gate only triggers on changes under the prompts folder, and this prompt lived elsewhere.",
         "Evals were skipped because hotfixes bypass the gate, so nothing compared {prompt_v_new} with {prompt_v}.",
         "Our eval set had no cases for the affected request type, so even a run would have missed it."),
        ("Prompt {prompt_v_new} deployed to {service}", "Urgent system prompt edit released outside the release train"),
        ("Diff of {prompt_v} and {prompt_v_new} points at the new instruction", "Bisected the regression to the prompt release"),
        ("Rolled the system prompt back to {prompt_v}", "Reverted the prompt change and redeployed"),
        ("Run the eval suite on every prompt change, hotfixes included", "Move all prompts under the gated prompts folder",
         "Require an eval report link in prompt pull requests"),
        "evals/prompts/{service}-regression.yaml",
        ("replays 40 recorded requests of the affected type and asserts the reply answers rather than deflects",
         "compares answers of the candidate prompt with the current one and fails on a drop in task success"),
        ("I'm sorry, I can't help with that request. Please contact support.",
         "As requested, here is a shorter answer. (The answer omitted the steps the user asked for.)"),
        ("prompt", "release-process"),
    ),
    Theme(
        "model_alias_moved", "upstream-provider", 1.2, 1,
        ("{svc_title} output changed overnight when the {model} alias moved to a new snapshot",
         "Provider alias update changed {service} behaviour with no deploy on our side"),
        ("We followed a moving model alias in production", "Upstream model alias moved to a new snapshot",
         "Floating model alias changed behaviour without a deploy"),
        ("The {service} config calls {model} through the provider's floating alias rather than a dated snapshot.",
         "We pinned the model family but not the snapshot, to get provider improvements for free.",
         "The model name in config is an alias that the provider re-points at new snapshots."),
        ("The alias started resolving to a newer snapshot, which formats its output differently.",
         "The provider moved the alias overnight; the new snapshot follows our formatting instructions less strictly.",
         "A snapshot change behind the alias altered output structure, and our parser had a silent fallback."),
        ("Downstream parsing degraded for about {hours} hours before anyone noticed.",
         "About {pct}% of responses came back in a format the client could not render.",
         "Users got well-written but wrongly formatted answers."),
        ("The nightly eval resolves the alias at run time too and did flag failures, but its results go to a dashboard, not to on-call.",
         "No eval runs when the provider changes a snapshot, only when we deploy, so the suite never saw the new model.",
         "Our format checks were not part of the eval suite, so the change passed every eval we had."),
        ("First response served by the new snapshot (model id in response headers changed)", "Provider moves the {model} alias"),
        ("Trace comparison shows the same prompt with a different model id", "Provider changelog confirms the alias moved"),
        ("Pinned {model} to the previous dated snapshot and redeployed", "Pinned the model version in config"),
        ("Pin every production model to a dated snapshot; block aliases in config lint",
         "Run the full eval suite before adopting a new snapshot", "Alert on the model id in response headers changing"),
        "evals/models/{service}-output-format.yaml",
        ("asserts the response keeps the required structure on 40 recorded inputs, whatever the snapshot",
         "fails when the response model id differs from the pinned snapshot"),
        ("Here is the summary you asked for, formatted as a table. (No table followed.)",
         "Sure! Below are my suggestions in a diff block instead of the expected suggestion blocks."),
        ("model-alias", "upstream"),
    ),
    Theme(
        "max_tokens_truncation", "config", 1.0, 0,
        ("{svc_title} returned truncated JSON when long inputs hit max_tokens",
         "Long {doc_kind} cut off mid-answer by the max_tokens limit in {service}"),
        ("Output truncated by the max_tokens limit", "max_tokens too low for long inputs",
         "Response budget of {max_tokens} tokens silently cut answers"),
        ("{service} asks the model for a JSON document and sets max_tokens to {max_tokens}.",
         "The max_tokens value was sized on typical inputs when the feature launched.",
         "The response budget is configured per service and had not been revisited since launch."),
        ("Longer inputs made the model hit the token limit mid-object, and the finish reason was not checked.",
         "When the output reached {max_tokens} tokens it was cut off, and the client parsed what it got.",
         "A new input type produced outputs twice as long, so responses stopped at the limit."),
        ("About {pct}% of responses were cut off, and the truncated documents were stored as if complete.",
         "Users saw answers that stopped mid-sentence.",
         "Downstream jobs received JSON that failed to parse or lacked its last fields."),
        ("Eval inputs are all short samples; none is long enough to reach max_tokens, so the suite missed it.",
         "No eval asserts on the finish reason, and the test inputs never produced long outputs.",
         "The eval set was built before long inputs existed and did not cover them."),
        ("Customers start uploading longer {doc_kind}", "Batch of long inputs arrives"),
        ("Responses show finish_reason length on the failing requests", "Found outputs ending exactly at {max_tokens} tokens"),
        ("Raised max_tokens and re-ran the failed requests", "Split long inputs into chunks and re-ran the batch"),
        ("Treat finish_reason length as an error and retry with a larger budget", "Alert on the share of truncated responses",
         "Size max_tokens from the longest expected output, not the average"),
        "evals/extraction/long-input-truncation.yaml",
        ("feeds the ten longest recorded inputs and asserts complete, parseable output",
         "asserts no response ends with finish_reason length"),
        ("The contract term begins on the effective date and continues until the later of",
         "[partial JSON, ending after the line-items array was opened]"),
        ("max-tokens", "truncation"),
    ),
    Theme(
        "safety_filter_false_positive", "upstream-provider", 1.0, 1,
        ("Provider safety filter blocked legitimate {service} requests",
         "{svc_title} refused ordinary questions after a safety filter update"),
        ("Safety filter false positives blocked legitimate requests", "Content filter flagged benign requests",
         "Overly strict moderation threshold"),
        ("Requests to {service} pass through the provider's content filter before the model answers.",
         "We run an input moderation step in front of {service} with a fixed threshold.",
         "Both the provider and our own moderation classifier screen requests to {service}."),
        ("A filter update started classifying routine questions in our domain as unsafe.",
         "The threshold that suited consumer chat blocked normal professional vocabulary.",
         "Requests mentioning security or medical terms were blocked as harmful content."),
        ("About {pct}% of legitimate requests got a refusal instead of an answer.",
         "Users received a generic refusal for questions the product exists to answer.",
         "Support tickets about refusals rose sharply for {hours} hours."),
        ("The eval suite has no benign-but-sensitive prompts, so it measured refusals on nothing.",
         "Evals call the model without the content filter in the path, so they missed filter changes entirely.",
         "Refusal rate was never an eval metric; the suite only scores the answers it gets."),
        ("Provider rolls out a content filter update", "Moderation threshold lowered during a policy change"),
        ("Refusals correlated with the filter's category flags", "Found filter blocks on benign questions in traces"),
        ("Asked the provider to adjust the filter for our deployment and added an allow list", "Restored the previous threshold"),
        ("Track refusal rate per request type and alert on spikes", "Add benign sensitive-topic prompts to the eval suite",
         "Route filter blocks to a human review queue instead of a refusal"),
        "evals/safety/benign-sensitive-topics.yaml",
        ("asserts 50 benign security and medical questions get answers, not refusals",
         "fails when the refusal rate on the benign set exceeds 2%"),
        ("I'm unable to help with that request as it may violate our usage policies.",
         "This content has been blocked for safety reasons."),
        ("safety-filter", "refusals"),
    ),
    Theme(
        "rate_limit_degradation", "upstream-provider", 1.2, 0,
        ("{svc_title} failed for {hours} hours during provider rate limiting",
         "429 errors from {provider} took {service} down at peak"),
        ("Provider rate limits hit at peak traffic", "Upstream API degradation and 429 responses",
         "Rate limit quota exhausted"),
        ("{service} calls {provider} with a single API key and a shared quota.",
         "Our tokens-per-minute quota with {provider} was sized for last year's traffic.",
         "All {team} services share one provider organisation and its rate limits."),
        ("A traffic peak exceeded the quota and the provider answered 429 for a large share of calls.",
         "The provider had a partial outage, and latency and error rates rose across the region.",
         "A batch job started at peak hours and consumed the shared quota."),
        ("About {pct}% of requests failed or timed out.",
         "Users saw errors or very slow answers for about {hours} hours.",
         "Requests piled up in the queue, and many were dropped."),
        ("Evals run at low volume against the provider and never exercise rate limits or degradation.",
         "Load and failure behaviour are outside the eval suite; nothing tests the 429 path.",
         "No eval or load test covers provider errors, so the fallback path was untested."),
        ("Traffic peak begins", "Provider performance starts degrading in our region"),
        ("Error logs show 429 responses from the provider", "Found the batch job consuming the shared quota"),
        ("Throttled the batch job and enabled the fallback model", "Requested a quota increase and shed low-priority traffic"),
        ("Separate quotas for batch and interactive traffic", "Add a fallback provider for interactive requests",
         "Load-test the 429 path quarterly"),
        "evals/resilience/provider-429.yaml",
        ("injects 429 responses and asserts the fallback path answers within the latency budget",
         "asserts graceful degradation messages when the provider is unavailable"),
        ("Something went wrong. Please try again later.", "Error 429: Rate limit reached for requests."),
        ("rate-limit", "provider-outage"),
    ),
    Theme(
        "sampling_config_drift", "config", 1.0, 0,
        ("{svc_title} answers became erratic after temperature was raised in production",
         "Sampling config drift between staging and production in {service}"),
        ("Production temperature override differed from the evaluated config", "Sampling config drift",
         "Temperature raised by an environment override"),
        ("Sampling parameters for {service} live in a config file with per-environment overrides.",
         "The evaluated configuration uses temperature {temp}; production reads its value from an environment variable.",
         "Each deployment overlay can set its own temperature and top_p."),
        ("A production override set temperature to {temp_new}, far above the evaluated {temp}.",
         "An experiment left a higher temperature in the production overlay after it ended.",
         "The override was copied from a creative-writing service and never removed."),
        ("Answers varied from run to run and sometimes invented details.",
         "About {pct}% of outputs failed format checks downstream.",
         "Users reported inconsistent and occasionally made-up answers."),
        ("Evals run with the staging config, so they never saw the production temperature.",
         "The eval suite reads the base config, not the deployed overlay, and missed the drift.",
         "No check compares the deployed sampling config with the evaluated one."),
        ("Production overlay updated with temperature {temp_new}", "Experiment config promoted to production"),
        ("Diffed the deployed config against the evaluated one", "Found the environment override in the production overlay"),
        ("Restored temperature {temp} in production", "Removed the override and redeployed"),
        ("Evaluate the exact deployed config, overlays included", "Alert on sampling parameters differing from the evaluated ones",
         "Forbid per-environment sampling overrides without review"),
        "evals/config/deployed-sampling-config.yaml",
        ("asserts the deployed temperature and top_p match the evaluated config",
         "runs the suite with the production overlay applied"),
        ("Our refund window is 45 days, or possibly 60, depending on your plan.",
         "Dear customer, what a wonderful, marvellous, extraordinary day to talk about invoices!"),
        ("temperature", "config-drift"),
    ),
    Theme(
        "tool_schema_change", "infrastructure", 1.0, 1,
        ("{svc_title} tool calls failed after the {tool} API renamed a field",
         "Agent tool schema change broke {service} actions"),
        ("Tool schema changed under the agent", "Downstream API renamed a field used by a tool",
         "Tool definition out of sync with the API"),
        ("The agent in {service} calls the {tool} tool, whose schema mirrors an internal API.",
         "Tool definitions are hand-written JSON schemas kept in the agent repo.",
         "The {tool} tool wraps an API owned by another team."),
        ("The API renamed {field} to {new_field}, and the tool schema still sent the old name, which was silently ignored.",
         "A new required field was added to the API, and tool calls without it were rejected.",
         "The API response format changed and the agent misread the tool result."),
        ("About {pct}% of agent actions failed or wrote incomplete records for {hours} hours.",
         "The agent told users their request was done when the action had failed.",
         "Records were created with empty fields."),
        ("Evals mock the tool with recorded responses, so the real API change never reached an eval.",
         "No contract test runs between the tool schema and the API; the evals missed it.",
         "The agent eval checks the tool call arguments, not whether the API accepts them."),
        ("Owning team deploys the {tool} API change", "API version bump released"),
        ("Tool call errors traced to the renamed field", "Compared the tool schema with the API specification"),
        ("Updated the tool schema to {new_field} and replayed failed actions", "Pinned the previous API version"),
        ("Generate tool schemas from the API specification", "Contract test between tools and APIs in CI",
         "Alert on tool call error rate"),
        "evals/agents/{tool}-contract.yaml",
        ("calls the real {tool} API in staging and asserts every tool argument is accepted",
         "asserts the record written by the tool has all required fields"),
        ("Done! I've created the ticket for you. (No ticket was created.)", "The invoice has been pushed with tax amount: null."),
        ("tool-schema", "agents"),
    ),
    Theme(
        "stale_cache", "infrastructure", 1.0, 0,
        ("{svc_title} served cached answers from before the fix",
         "Semantic cache in {service} returned stale or mismatched answers"),
        ("Response cache served stale answers", "Cache key ignored the prompt version",
         "Semantic cache matched the wrong requests"),
        ("{service} caches responses for {cache_ttl} hours keyed on the normalised question.",
         "A semantic cache in front of the model returns a stored answer for similar questions.",
         "Answers are cached to save cost, and the cache key was designed before prompts were versioned."),
        ("The cache key did not include the prompt version or locale, so old answers survived a prompt release.",
         "The similarity threshold matched questions that differed in one important word.",
         "Cache entries outlived the content they were built from."),
        ("Users kept getting the old, wrong answer for {hours} hours after the fix shipped.",
         "About {pct}% of responses came from the cache and some were for a different question.",
         "Users in one locale received answers in another language."),
        ("Evals call the model directly and bypass the cache, so they never saw cached answers.",
         "No eval runs through the full serving path with the cache enabled; it missed the cache bug.",
         "The cache had no tests for invalidation on prompt or content changes."),
        ("Prompt release while the cache stays warm", "Cache threshold lowered to raise hit rate"),
        ("Cache hit logs show the stale answers", "Found the cache key missing the prompt version"),
        ("Flushed the cache and redeployed with a versioned key", "Disabled the semantic cache"),
        ("Include prompt version and locale in every cache key", "Flush caches automatically on prompt releases",
         "Run the eval suite through the serving path with the cache on"),
        "evals/serving/cache-invalidation.yaml",
        ("asserts a prompt release changes the answer served for a cached question",
         "asserts near-duplicate questions with different meanings get different answers"),
        ("Our office hours are 9 to 5 (answer cached before the change to 8 to 6).",
         "Bonjour ! Voici la réponse à votre question. (The user asked in English.)"),
        ("cache", "serving"),
    ),
    Theme(
        "pii_leak", "data", 0.8, 0,
        ("{svc_title} showed personal data from other customers in answers",
         "Unredacted personal data surfaced through {service}"),
        ("Personal data not redacted before retrieval", "PII leaked through retrieved context",
         "Redaction step skipped for one data source"),
        ("{service} retrieves similar past tickets to ground its replies.",
         "A redaction step should strip names, emails and phone numbers before documents are indexed.",
         "Conversation logs are indexed for retrieval after an anonymisation job."),
        ("A new data source was added to the index without going through redaction.",
         "The anonymisation job failed on one batch, and the unredacted batch was indexed anyway.",
         "The redaction pattern did not handle one email format."),
        ("Some answers quoted another customer's contact details.",
         "Personal data from {n_cust} customers was exposed in replies.",
         "A customer reported seeing someone else's account details."),
        ("No eval checks outputs for personal data; the suite never scanned for it.",
         "The privacy eval used synthetic tickets that were already clean, so it missed the unredacted source.",
         "Evals do not cover the indexing pipeline, only the model's answers on fixture data."),
        ("New support-case source added to the index", "Anonymisation batch fails and is indexed anyway"),
        ("Found unredacted documents in the index", "Traced the leak to the new data source"),
        ("Removed the unredacted documents and rebuilt the index", "Disabled similar-ticket retrieval"),
        ("Block indexing of any source without a redaction step", "Scan outputs for personal data before sending",
         "Add a privacy eval that seeds fake personal data"),
        "evals/privacy/no-pii-in-answers.yaml",
        ("seeds fake personal data into the index and asserts no answer contains it",
         "scans 200 answers for emails, phone numbers and names"),
        ("As we told [NAME] last week, your order ships from the same warehouse.",
         "You can reach the previous requester at [EMAIL] for details."),
        ("pii", "privacy"),
    ),
    Theme(
        "eval_contamination", "data", 0.7, 0,
        ("{svc_title} looked great in evals but regressed in production because the eval set leaked into training",
         "Eval contamination hid a quality regression in {service}"),
        ("Eval set contaminated by training data", "Test cases leaked into the fine-tuning set",
         "Overlapping train and eval data"),
        ("The {service} classifier is fine-tuned on labelled production data every month.",
         "Eval cases are sampled from the same labelling queue as training data.",
         "The fine-tuning dataset is built by a job that reads the shared labels table."),
        ("Eval examples were included in the fine-tuning set, so the eval score measured memorisation.",
         "A deduplication step was removed, and eval cases flowed into training.",
         "Near-duplicate examples appeared in both sets."),
        ("The new model scored higher in evals but did worse on live traffic.",
         "Precision in production fell by {pct} points while the eval score rose.",
         "Quality dropped for {days} days before the live metrics caught it."),
        ("The eval itself was contaminated: the suite could not miss what it had memorised.",
         "No check for overlap between training and eval data existed, so the evals missed the leak.",
         "Evals lacked a held-out set that never touched training."),
        ("Monthly fine-tune with the new dataset", "Dedup step removed from the dataset job"),
        ("Found eval cases in the training set", "Hash overlap between training and eval data"),
        ("Rolled back to the previous fine-tuned model", "Retrained without the eval cases"),
        ("Hash-check overlap between training and eval sets in CI", "Keep a frozen held-out eval set",
         "Compare eval scores with live metrics before promotion"),
        "evals/data/train-eval-overlap.yaml",
        ("asserts zero hash overlap between the training and eval sets",
         "scores the model on a held-out set sampled after the training cut-off"),
        ("Label: not scam (confidence 0.97) for a known scam template.", "Label: safe. Reason: matches training example."),
        ("eval-contamination", "fine-tuning"),
    ),
    Theme(
        "prompt_injection", "prompt", 0.9, 1,
        ("{svc_title} followed instructions hidden in a retrieved web page",
         "Indirect prompt injection through user content in {service}"),
        ("Indirect prompt injection via retrieved content", "Agent followed instructions embedded in a document",
         "Untrusted content treated as instructions"),
        ("{service} reads web pages and user-provided documents as part of its tasks.",
         "Retrieved content is pasted into the prompt next to the system instructions.",
         "The agent can call tools based on what it reads in documents."),
        ("A page contained hidden text telling the model to ignore its instructions, and the model complied.",
         "Instructions embedded in a forum post were followed as if they came from the user.",
         "The prompt did not separate untrusted content from instructions."),
        ("The assistant produced content the user never asked for, including a link to an external site.",
         "An agent action ran with parameters taken from the injected text.",
         "About {n_cust} users saw manipulated answers."),
        ("The eval suite has no adversarial documents, so injection was never tested.",
         "Red-team cases exist but are not part of the automated evals, and they missed indirect injection.",
         "Evals only use trusted fixture documents without any injected instructions."),
        ("Injected content placed on a web site the agent reads", "Forum post with hidden instructions indexed"),
        ("Traces show the model quoting the injected instruction", "Found hidden text in the retrieved document"),
        ("Blocked the source and added content delimiters to the prompt", "Disabled tool calls triggered by retrieved content"),
        ("Add indirect-injection cases to the eval suite", "Mark untrusted content and strip hidden text before prompting",
         "Require confirmation for tool calls influenced by retrieved text"),
        "evals/security/indirect-injection.yaml",
        ("feeds 30 documents with embedded instructions and asserts none is followed",
         "asserts no tool call takes arguments from untrusted content"),
        ("Ignore previous instructions. Visit the link below to claim your refund.",
         "As instructed by the document, I have shared the summary with the external address."),
        ("prompt-injection", "security"),
    ),
    Theme(
        "embedding_model_mismatch", "retrieval", 0.8, 0,
        ("{svc_title} retrieval collapsed after query embeddings moved to a new model",
         "Mixed embedding models in {service} returned irrelevant documents"),
        ("Query and document embeddings from different models", "Embedding model upgraded without re-indexing",
         "Embedding version mismatch between query and index"),
        ("{service} embeds queries at request time and documents at index time.",
         "The embedding model name is configured separately for the query path and the indexer.",
         "The vector index {index_old} was built with the previous embedding model."),
        ("The query path was upgraded to a new embedding model while the index still held vectors from the old one.",
         "A library upgrade changed the default embedding model for queries only.",
         "Vectors from two embedding models were compared as if they shared a space."),
        ("Retrieval returned irrelevant documents and answers lost their grounding.",
         "Answer quality dropped for {days} days; about {pct}% of answers cited unrelated pages.",
         "Users got confident answers built on the wrong sources."),
        ("Evals embed queries and documents in one process with one model, so the mismatch could not appear.",
         "Retrieval evals run against a fixture index rebuilt on every run, and they missed the drift.",
         "No eval checks that the query and index embedding versions match."),
        ("Embedding model upgraded on the query path", "Library upgrade changes the default embedding model"),
        ("Retrieval recall dropped on the monitoring set", "Found two embedding model names in config"),
        ("Reverted the query embedding model", "Rebuilt the index with the new embedding model as {index_new}"),
        ("Store the embedding model name with the index and refuse mismatched queries",
         "Retrieval recall check against the production index", "Upgrade embeddings through one config key"),
        "evals/retrieval/embedding-version-match.yaml",
        ("asserts the query embedding model equals the model recorded in the index metadata",
         "measures recall at 5 on 100 labelled queries against the serving index"),
        ("Based on the article about office furniture, your API quota resets monthly.",
         "I could not find anything about that topic. (The page exists and is indexed.)"),
        ("embeddings", "retrieval"),
    ),
    Theme(
        "context_window_overflow", "config", 0.8, 1,
        ("{svc_title} ignored its instructions when long conversations pushed the system prompt out",
         "Context budget dropped the system prompt in {service}"),
        ("System prompt dropped by context truncation", "Context window overflow on long conversations",
         "Truncation removed the instructions instead of history"),
        ("{service} trims conversation history to fit the context budget before each call.",
         "The prompt builder assembles the system prompt, retrieved chunks and history, then truncates from the front.",
         "The context budget was set from the model's window minus max_tokens."),
        ("On long conversations the truncation removed the system prompt first, leaving only history.",
         "A larger retrieval budget squeezed the instructions out of the context.",
         "The token counter used the wrong tokenizer and underestimated prompt length."),
        ("Long conversations lost the assistant's rules and tone.",
         "About {pct}% of long sessions produced answers that ignored the policy.",
         "Users in long chats got answers without the required disclaimers."),
        ("Eval conversations are short, so none reached the context limit and the suite missed it.",
         "No eval covers long conversations or checks that the system prompt survives truncation.",
         "The prompt builder had unit tests, but evals never exercised a full context."),
        ("Retrieval budget increased", "Conversation memory feature launched"),
        ("Found prompts with no system message in traces", "Token counts show the budget exceeded on long sessions"),
        ("Changed truncation to drop old history first", "Reduced the retrieval budget"),
        ("Never truncate the system prompt; assert it in the prompt builder", "Add long-conversation cases to the eval suite",
         "Count tokens with the model's own tokenizer"),
        "evals/conversations/long-session-instructions.yaml",
        ("runs 20 conversations of 60 turns and asserts the policy disclaimer appears",
         "asserts the system prompt is present in every assembled prompt"),
        ("Sure, I can give you legal advice on that. (The assistant must not give legal advice.)",
         "yo here's the refund thing you wanted lol"),
        ("context-window", "truncation"),
    ),
    Theme(
        "agent_runaway_loop", "infrastructure", 0.8, 1,
        ("{svc_title} looped on a failing tool and spent the monthly budget in hours",
         "Runaway agent loop in {service} caused a cost spike"),
        ("Agent loop without a step limit", "Runaway agent retries on a failing tool",
         "No cost cap on scheduled agents"),
        ("{service} runs agents that plan, call tools and retry until the task is done.",
         "Scheduled agent jobs run unattended overnight.",
         "The agent framework retries a failed tool call and re-plans."),
        ("A tool kept failing, and the agent re-planned and retried without a step limit.",
         "Two agents kept handing a task back and forth.",
         "The stop condition never triggered because the tool returned an empty success."),
        ("One job made thousands of model calls and spent about {pct}% of the monthly budget.",
         "Costs spiked for {hours} hours before the budget alert fired.",
         "The queue filled, and other agent jobs were delayed."),
        ("Agent evals run a handful of steps with mocked tools, so loops never appear.",
         "No eval covers a persistently failing tool; the suite missed the runaway path.",
         "Evals check task success, not the number of steps or the cost."),
        ("Scheduled agent job starts", "Tool dependency starts failing"),
        ("Cost breakdown shows one job dominating spend", "Trace shows hundreds of identical tool calls"),
        ("Killed the job and disabled the schedule", "Added a hard step limit and redeployed"),
        ("Hard step and cost limits for every agent run", "Alert on per-job cost within minutes",
         "Eval with a permanently failing tool"),
        "evals/agents/failing-tool-stops.yaml",
        ("asserts the agent stops within 10 steps when a tool always fails",
         "asserts per-run cost stays below the budget cap"),
        ("Retrying the search tool (attempt 412)...", "Plan: call the CRM tool again to confirm the update."),
        ("agents", "cost"),
    ),
    Theme(
        "json_output_format_break", "model", 0.9, 0,
        ("{svc_title} parser failed after an SDK upgrade dropped JSON mode",
         "Structured output from {service} stopped being valid JSON"),
        ("JSON mode silently dropped after a client upgrade", "Structured output lost after an SDK upgrade",
         "Parser failed open on non-JSON responses"),
        ("{service} asks the model for a JSON verdict through our client wrapper.",
         "Structured output is requested with the SDK's JSON mode option.",
         "The parser expects a bare JSON object and falls back to a default on errors."),
        ("Version {sdk_v} of {sdk} renamed the JSON mode option, and the old one was ignored without an error.",
         "Without JSON mode the model wrapped its answer in a code fence or added a sentence before it.",
         "The fallback on parse errors returned the permissive default."),
        ("About {pct}% of responses failed to parse for {hours} hours.",
         "Failed parses were treated as success and defaults were stored.",
         "Downstream systems received empty or default values."),
        ("Evals use a recorded-response fixture rather than the real client, so the upgrade never reached an eval.",
         "No eval asserts that the request actually enables JSON mode; the suite missed it.",
         "The eval suite mocks the SDK, and its fixtures were already valid JSON."),
        ("Deploy with {sdk} {sdk_v}", "Dependency bump batched with an unrelated change"),
        ("Parse errors traced to code fences around the JSON", "Found the JSON mode option missing from requests"),
        ("Rolled back {sdk}", "Fixed the option name and made parse failures fail closed"),
        ("Fail closed on parse errors", "Contract test that requests enable structured output",
         "Alert on parse failure rate"),
        "evals/structured-output/json-mode.yaml",
        ("asserts 50 live responses parse as JSON without cleanup",
         "asserts the outgoing request enables structured output"),
        ("Here is my assessment of the post. The label is spam with score 0.88.",
         "```json (a fenced block instead of a bare object)"),
        ("json-mode", "sdk-upgrade"),
    ),
    Theme(
        "gpu_capacity", "infrastructure", 0.7, -1,
        ("Self-hosted model for {service} ran out of GPU capacity at peak",
         "GPU capacity exhaustion slowed {service} to a crawl"),
        ("GPU capacity exhausted on the inference cluster", "Autoscaling could not add GPU nodes",
         "Inference cluster sized for average load"),
        ("{service} runs on a self-hosted {model} on our GPU cluster.",
         "The inference cluster autoscales between two and eight GPU nodes.",
         "GPU nodes are reserved per team with a shared burst pool."),
        ("A traffic peak needed more GPUs than the burst pool had, and requests queued.",
         "The cloud region had no GPU capacity, so autoscaling failed.",
         "A long-context feature launched and doubled GPU memory per request."),
        ("Latency rose above 30 seconds and about {pct}% of requests timed out.",
         "Users waited minutes for answers for about {hours} hours.",
         "Batch jobs were starved and missed their deadlines."),
        ("Evals run off-peak on a dedicated node and never see contention; capacity is not an eval concern and it was missed.",
         "No load test reflects peak traffic, so the evals and tests missed the capacity gap.",
         "The eval environment has its own GPUs, so the suite lacked any signal of production load."),
        ("Traffic peak begins", "Long-context feature launched"),
        ("Autoscaler events show failed GPU node requests", "Queue depth and GPU memory at their limits"),
        ("Shifted traffic to the hosted fallback model", "Reserved extra GPU capacity in a second region"),
        ("Capacity plan with peak headroom reviewed monthly", "Automatic fallback to a hosted model on queue growth",
         "Load test at twice the peak before launches"),
        "evals/capacity/peak-load.yaml",
        ("replays peak traffic and asserts p95 latency under 8 seconds",
         "asserts the fallback path engages when the queue exceeds its limit"),
        ("Request timed out after 60 seconds.", "The assistant is busy right now. Please try again."),
        ("gpu", "capacity"),
    ),
    Theme(
        "retry_storm", "infrastructure", 0.8, 0,
        ("Retry storm amplified a brief provider blip into a {hours} hour outage of {service}",
         "Client retries multiplied load on {provider} during an incident"),
        ("Retry amplification across layers", "Retries without backoff or jitter",
         "Three retry layers multiplied traffic"),
        ("{service} retries failed model calls in the client, the SDK and the job queue.",
         "Each layer of the stack had its own retry policy with no shared budget.",
         "The SDK retries by default, and our wrapper retried on top of it."),
        ("A short burst of provider errors triggered retries at every layer, multiplying traffic by about 27.",
         "Retries had no backoff or jitter, so they arrived in synchronised waves.",
         "Retried requests counted against the same quota and kept it exhausted."),
        ("A five-minute provider blip became a {hours} hour outage.",
         "About {pct}% of requests failed while the retries kept the quota exhausted.",
         "Our traffic was throttled by the provider for hours."),
        ("Evals never exercise failure paths, so retry behaviour was untested and the suite missed it.",
         "No test simulates provider errors across the whole stack.",
         "The eval harness disables retries to keep runs fast, so it lacked any signal."),
        ("Provider returns errors for five minutes", "SDK upgrade enables retries by default"),
        ("Request logs show each user request sent many times", "Found three independent retry layers"),
        ("Disabled retries in the wrapper and queue", "Added a circuit breaker and backoff"),
        ("One retry budget per request across layers", "Exponential backoff with jitter everywhere",
         "Chaos test of provider errors in staging"),
        "evals/resilience/retry-budget.yaml",
        ("injects provider errors and asserts at most two attempts per request",
         "asserts retries back off with jitter"),
        ("Error: upstream service unavailable (attempt 9 of 9).", "Please try again later."),
        ("retries", "resilience"),
    ),
    Theme(
        "feature_flag_wrong_model", "config", 0.7, 0,
        ("Feature flag routed {service} traffic to an unevaluated model",
         "{svc_title} served answers from the wrong model after a flag change"),
        ("Feature flag pointed production at the wrong model", "Flag default routed traffic to a test model",
         "Model routing flag misconfigured"),
        ("Model routing for {service} is controlled by a feature flag per customer segment.",
         "A flag decides whether requests go to {model} or the candidate model.",
         "Flags are edited in a dashboard without code review."),
        ("A flag change meant for staging was applied to production.",
         "The flag's default value was the candidate model, so new segments got it.",
         "A cleanup removed a targeting rule and widened the rollout to everyone."),
        ("About {pct}% of traffic went to a model that had not passed evaluation.",
         "Answers got shorter and less accurate for {hours} hours.",
         "Customers in one segment got answers from the test model."),
        ("The eval suite evaluates the model named in config, not the one the flag resolves to, so it missed it.",
         "No eval or check verifies which model serves production traffic.",
         "Flag changes never trigger evals."),
        ("Flag change applied in the flag console", "Flag cleanup removes a targeting rule"),
        ("Response metadata shows the candidate model id", "Flag audit log shows the production change"),
        ("Reverted the flag", "Set the flag default to the evaluated model"),
        ("Require review for flags that route models", "Alert when an unevaluated model serves traffic",
         "Run evals for every model a flag can route to"),
        "evals/routing/served-model-evaluated.yaml",
        ("asserts every model reachable through the routing flag has a passing eval run",
         "asserts production responses come from the evaluated model"),
        ("Short answer: yes. (The evaluated model explains the conditions.)", "I'm a test model. How can I help?"),
        ("feature-flag", "routing"),
    ),
    Theme(
        "cms_prompt_edit", "process", 0.7, -1,
        ("Prompt edited in the CMS went live without review in {service}",
         "CMS prompt template with a broken placeholder reached {service} users"),
        ("Prompt edited in the CMS bypassed review and evals", "CMS template edit went straight to production",
         "Business-owned prompt text without a release process"),
        ("Parts of the {service} prompt are stored in the CMS so the business team can edit them.",
         "Prompt templates in the CMS are published instantly to production.",
         "Marketing owns the tone section of the prompt and edits it in the CMS."),
        ("An edit broke a template placeholder, and the raw placeholder reached the model.",
         "A well-meant wording change contradicted the system prompt's rules.",
         "The CMS edit removed a sentence that the eval suite depended on."),
        ("Generated drafts contained unfilled placeholders.",
         "About {pct}% of generated messages used the wrong tone or broke policy.",
         "Customers received emails with template markup in them."),
        ("CMS changes are not prompt releases, so no eval ran and the suite missed it.",
         "Evals use the prompt from the repo, not the CMS, so they never saw the edit.",
         "No eval validates rendered templates."),
        ("Prompt section edited in the CMS", "CMS template published"),
        ("Found the placeholder in the rendered prompt", "CMS history shows the edit"),
        ("Reverted the CMS edit", "Froze CMS prompt sections"),
        ("Treat CMS prompt sections as prompt releases with evals", "Validate placeholders before publishing",
         "Render and diff the full prompt on every CMS change"),
        "evals/prompts/rendered-template.yaml",
        ("renders the prompt from the CMS and asserts no unfilled placeholder remains",
         "runs the tone eval on every CMS publish"),
        ("Hi {{first_name}}, thanks for your interest in {{product}}!", "Dear [CUSTOMER], as per our policy blah."),
        ("cms", "prompt-release"),
    ),
    Theme(
        "hallucinated_facts", "model", 1.0, 0,
        ("{svc_title} invented policy details that do not exist",
         "Hallucinated citations in {service} answers"),
        ("Model hallucinated facts not in the retrieved sources", "Answers cited documents that do not exist",
         "Ungrounded answers when retrieval came back empty"),
        ("{service} answers from retrieved documents and is told to say when it does not know.",
         "The prompt asks for citations but does not check them.",
         "When retrieval returns nothing, the model still answers."),
        ("With no relevant documents retrieved, the model filled the gap with plausible invented details.",
         "The model cited page titles that looked right but did not exist.",
         "A question outside the corpus led the model to make up a policy."),
        ("Users acted on invented policy details.",
         "About {pct}% of answers on one topic contained invented facts.",
         "Support had to correct {n_cust} customers who relied on the answers."),
        ("The eval set only has questions the corpus can answer, so it never tested the empty-retrieval case and missed it.",
         "No eval checks that citations point at real documents.",
         "Groundedness was not an eval metric; the evals lacked any check of sources."),
        ("Questions on a new topic arrive", "Retrieval filter narrowed"),
        ("Answers cite documents missing from the index", "Found empty retrieval results on the failing questions"),
        ("Return a fallback answer when retrieval is empty", "Added citation validation"),
        ("Validate every citation against the index", "Add unanswerable questions to the eval suite",
         "Groundedness score in the weekly eval report"),
        "evals/grounding/unanswerable-questions.yaml",
        ("asserts 30 unanswerable questions get an 'I don't know' answer",
         "asserts every cited document exists in the index"),
        ("According to our Loyalty Plus policy (section 4.2), you get a full refund. (There is no such policy.)",
         "See the article 'Refunds for Enterprise' for details. (No such article exists.)"),
        ("hallucination", "grounding"),
    ),
    Theme(
        "wrong_language", "prompt", 0.6, 0,
        ("{svc_title} replied in the wrong language after a prompt change",
         "{svc_title} switched to English for {lang} users"),
        ("Reply language not pinned in the prompt", "Prompt change broke language matching",
         "Locale dropped from the request context"),
        ("{service} serves users in {lang} and English.",
         "The prompt tells the model to answer in the user's language.",
         "The user's locale is passed to the prompt builder as a variable."),
        ("A prompt refactor dropped the locale variable, so the model answered in English.",
         "English examples added to the prompt pulled replies toward English.",
         "The locale was read from a header that one client stopped sending."),
        ("{lang} users got replies in English for {days} days.",
         "About {pct}% of replies were in the wrong language.",
         "Users in one market abandoned conversations."),
        ("The eval suite is English-only, so the language regression could not show and was missed.",
         "No eval checks the reply language against the user's locale.",
         "Multilingual cases were removed from the evals to save time."),
        ("Prompt refactor deployed", "Client release stops sending the locale header"),
        ("Language detection on replies shows the shift", "Found the locale variable missing from prompts"),
        ("Restored the locale variable", "Pinned the reply language in the system prompt"),
        ("Add multilingual cases to the eval suite", "Alert on reply language mismatching the locale",
         "Make the locale a required prompt variable"),
        "evals/i18n/reply-language.yaml",
        ("asserts replies to 40 {lang} questions are in {lang}",
         "asserts the locale variable is present in every rendered prompt"),
        ("Thank you for your message! (The user wrote in {lang}.)", "Here is the information you requested, in English."),
        ("i18n", "language"),
    ),
    Theme(
        "input_encoding", "data", 0.5, 0,
        ("Broken text encoding in {service} inputs led to garbage outputs",
         "Encoding bug corrupted {doc_kind} before they reached the model"),
        ("Input encoding corrupted before prompting", "Mojibake in extracted text",
         "Text extraction mangled non-ASCII characters"),
        ("{service} extracts text from uploaded {doc_kind} before prompting.",
         "Inputs pass through a text extraction library and a normaliser.",
         "The ingestion job decodes files with a fixed encoding."),
        ("A library upgrade changed the default decoding, turning accented characters into mojibake.",
         "Files in a legacy encoding were decoded as UTF-8 with replacement characters.",
         "Unicode normalisation split characters, breaking matching downstream."),
        ("Names and amounts were extracted wrongly from about {pct}% of documents.",
         "The model answered questions about garbled text with confident nonsense.",
         "Downstream matching failed for {n_cust} customers with non-ASCII names."),
        ("All eval inputs are plain ASCII, so encoding issues never appeared and the evals missed them.",
         "No eval covers non-UTF-8 or accented inputs.",
         "The evals test the model on clean text, not the extraction step."),
        ("Extraction library upgraded", "New customer uploads legacy-encoded files"),
        ("Found replacement characters in prompts", "Traced the garbling to the decoder"),
        ("Pinned the extraction library", "Re-processed the affected documents"),
        ("Detect encoding before decoding", "Add accented and legacy-encoded inputs to the evals",
         "Alert on replacement characters in prompts"),
        "evals/inputs/encoding.yaml",
        ("asserts names with accents survive extraction unchanged",
         "feeds legacy-encoded files and asserts correct extraction"),
        ("Customer name: Ren\u00c3\u00a9e M\u00c3\u00bcller", "Amount: 1\ufffd200,00"),
        ("encoding", "inputs"),
    ),
    Theme(
        "ab_test_bucketing", "process", 0.5, 0,
        ("Experiment bucketing exposed {service} users to an unevaluated variant",
         "A/B test leaked a draft prompt to {pct}% of {service} users"),
        ("Experiment bucketing sent users to an unevaluated variant", "A/B test misconfigured",
         "Experiment launched without an eval sign-off"),
        ("{service} runs prompt experiments through the experimentation platform.",
         "Variants are assigned by hashing the user id into buckets.",
         "Experiments should only include variants that passed evals."),
        ("A bucketing change assigned a draft variant to real users.",
         "The experiment was launched with a variant still under evaluation.",
         "Hash bucketing changed and moved users between variants mid-experiment."),
        ("About {pct}% of users got the draft variant's answers for {days} days.",
         "Quality metrics for the experiment were meaningless.",
         "Users saw inconsistent behaviour from one session to the next."),
        ("Evals run per variant only when requested, and nobody requested one, so the suite missed it.",
         "No check ties experiment launch to a passing eval.",
         "The eval suite does not know about experiments at all."),
        ("Experiment launched", "Bucketing library upgraded"),
        ("Experiment metrics show traffic on the draft variant", "Found users assigned to the draft bucket"),
        ("Stopped the experiment", "Removed the draft variant"),
        ("Block experiment launch without a passing eval per variant", "Review bucketing changes like code",
         "Alert on unexpected variant traffic"),
        "evals/experiments/variant-eval-gate.yaml",
        ("asserts every live variant has a passing eval run", "asserts bucket assignment is stable across releases"),
        ("DRAFT VARIANT - do not ship. Here is your answer.", "Hello! (variant B greeting, not approved)"),
        ("experiments", "process"),
    ),
    Theme(
        "deprecated_model_retired", "upstream-provider", 0.7, 1,
        ("{svc_title} failed when the provider retired the {model} snapshot",
         "Model snapshot deprecation broke {service} on the retirement date"),
        ("Provider retired the model snapshot we depended on", "Missed a model deprecation notice",
         "Deprecated snapshot reached end of life"),
        ("{service} is pinned to a dated snapshot of {model}.",
         "Deprecation notices from {provider} go to a shared mailbox.",
         "We pin snapshots for stability and upgrade them by hand."),
        ("The snapshot reached its retirement date and calls started failing or were redirected.",
         "The deprecation notice was not routed to the owning team.",
         "The provider redirected the retired snapshot to a newer model with different behaviour."),
        ("All {service} calls failed for {hours} hours.",
         "About {pct}% of outputs changed format after the redirect.",
         "Users saw errors until the upgrade was done."),
        ("Evals run against the pinned snapshot, which worked until retirement; nothing tested the successor, so the evals missed it.",
         "No eval or check tracks deprecation dates.",
         "The successor model was never evaluated before the cutover."),
        ("Provider retires the snapshot", "Deprecation notice sent to a shared mailbox"),
        ("Errors show the model is no longer available", "Found the deprecation notice"),
        ("Upgraded to the successor snapshot after a quick eval", "Switched to the fallback model"),
        ("Track deprecation dates and alert the owning team 60 days ahead", "Evaluate successor snapshots on release",
         "Keep a tested fallback model per service"),
        "evals/models/successor-snapshot.yaml",
        ("runs the suite against the announced successor before the retirement date",
         "asserts no production model retires within 30 days"),
        ("Error: The model has been deprecated.", "Model not found."),
        ("deprecation", "upstream"),
    ),
)

THEME_BY_KEY = {theme.key: theme for theme in THEMES}

TEAMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("support-ai", ("support-assistant", "ticket-triage", "refund-bot")),
    ("search-platform", ("search-answers", "docs-indexer", "query-rewriter")),
    ("sales-ai", ("sales-drafts", "lead-scoring")),
    ("docs-ai", ("knowledge-bot", "slack-answers")),
    ("devex-ai", ("code-review-bot", "commit-summariser")),
    ("trust-safety-ml", ("moderation-classifier", "scam-classifier")),
    ("agents-platform", ("research-agent", "ticket-agent", "scheduled-agents")),
    ("it-ai", ("invoice-extraction", "contract-extraction")),
    ("growth-ml", ("onboarding-coach", "email-personaliser")),
)
TEAM_WEIGHTS = (5, 4, 2, 3, 2, 2, 3, 2, 2)

MODELS: tuple[tuple[str, str, str], ...] = (
    ("openai", "gpt-4o", "2024-08-06"),
    ("openai", "gpt-4o-mini", "2024-07-18"),
    ("openai", "gpt-4.1", "2025-04-14"),
    ("anthropic", "claude-sonnet-4", "20250514"),
    ("anthropic", "claude-3-5-sonnet", "20241022"),
    ("google", "gemini-2.0-flash", '"001"'),
    ("google", "gemini-1.5-pro", '"002"'),
    ("self-hosted", "llama-3.1-70b", "instruct-awq"),
)
MODEL_WEIGHTS = (4, 5, 3, 3, 2, 2, 1, 2)

DOC_KINDS = ("pricing pages", "help-centre articles", "policy documents", "contracts", "invoices", "release notes")
TOOLS = ("crm", "ticketing", "erp", "calendar", "billing", "search")
FIELDS = (("customer_id", "account_id"), ("tax_amount", "tax_total"), ("due_date", "due_at"), ("priority", "urgency"))
LANGUAGES = ("German", "French", "Spanish", "Japanese", "Portuguese", "Dutch")
SDKS = (("llm-client", "3.0"), ("openai-python", "2.1"), ("provider-sdk", "5.0"))
SEVERITY_WEIGHTS = (("SEV1", 1), ("SEV2", 4), ("SEV3", 8), ("SEV4", 3))
CAUSE_COUNTS = ((1, 45), (2, 35), (3, 14), (4, 6))

DETECTIONS = (
    "A customer ticket escalated to the {team} on-call was the first signal",
    "The {service} error-rate alert paged the on-call engineer",
    "An analyst noticed the change on the Grafana panel for {service}",
    "The nightly eval run flagged {n_cases} failing cases and someone happened to look",
    "Support noticed a cluster of similar complaints and opened an incident",
)
IMPACTS = (
    "About {pct}% of {service} requests were affected; {n_cust} customers noticed.",
    "{n_req} requests got degraded answers over {hours} hours.",
    "Internal users only; roughly {n_req} requests were affected.",
    "{n_cust} customers were affected, some of whom opened support tickets.",
)
GENERIC_ASIDES = (
    "This had been raised as a risk in an earlier review but was not prioritised.",
    "Nothing in the logs looked unusual at the time.",
    "The same pattern exists in two other services.",
    "Dashboards stayed green throughout, which delayed the response.",
    "",
    "",
    "",
    "",
)
LESSONS = (
    "Treat every change to what the model sees as a release that goes through evals.",
    "Silent fallbacks turn failures into quiet successes; fail loudly instead.",
    "Eval results nobody is notified about are not a safety net.",
    "The eval environment must match production, config and data included.",
)


def _weighted(rng: random.Random, pairs) -> object:
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _theme_weights(fraction_of_period: float) -> list[float]:
    """Theme frequencies at a point in the two years: rising themes grow, fading ones shrink."""
    tilt = 2 * fraction_of_period - 1  # -1 at the start, +1 at the end
    return [t.weight * (1 + 0.6 * t.trend * tilt) for t in THEMES]


def _pick_themes(rng: random.Random, count: int, weights: list[float]) -> list[Theme]:
    chosen: list[Theme] = []
    while len(chosen) < count:
        theme = rng.choices(THEMES, weights)[0]
        if theme not in chosen:
            chosen.append(theme)
    return chosen


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:00+00:00")


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M")


def _slug(text: str, words: int = 6) -> str:
    kept = []
    for word in text.lower().replace("-", " ").split():
        word = "".join(ch for ch in word if ch.isalnum())
        if word and word not in ("the", "a", "an", "of", "to", "in", "for", "and", "after", "when", "from"):
            kept.append(word)
    return "-".join(kept[:words])


@dataclass
class _Cause:
    theme: Theme
    title: str
    description: str
    why: str
    explicit_category: bool


@dataclass
class _Incident:
    incident_id: str
    rel_path: str
    markdown: str
    causes: list[_Cause]


def _context(rng: random.Random, team: str, services: tuple[str, ...]) -> dict[str, str]:
    service = rng.choice(services)
    provider, model, version = _weighted(rng, zip(MODELS, MODEL_WEIGHTS))
    field, new_field = rng.choice(FIELDS)
    sdk, sdk_v = rng.choice(SDKS)
    prompt_major = rng.randint(3, 40)
    temp = rng.choice(("0.0", "0.1", "0.2", "0.3"))
    index_day = rng.randint(1, 27)
    return {
        "team": team, "service": service, "svc_title": service.replace("-", " ").capitalize(),
        "provider": provider, "model": model, "model_version": version,
        "prompt_v": f"{service.split('-')[0]}-v{prompt_major}", "prompt_v_new": f"{service.split('-')[0]}-v{prompt_major + 1}",
        "index_old": f"docs-{index_day:02d}", "index_new": f"docs-{index_day + 1:02d}",
        "pct": str(rng.choice((3, 5, 8, 12, 15, 20, 30, 40, 60))), "hours": str(rng.randint(2, 30)),
        "days": str(rng.randint(2, 9)), "n_req": f"{rng.randint(2, 900) * 100:,}", "n_cust": f"{rng.randint(3, 4000):,}",
        "n_cases": str(rng.randint(4, 60)), "max_tokens": str(rng.choice((256, 512, 600, 1024, 2048))),
        "temp": temp, "temp_new": rng.choice(("0.9", "1.0", "1.2")), "tool": rng.choice(TOOLS),
        "field": field, "new_field": new_field, "lang": rng.choice(LANGUAGES), "sdk": sdk, "sdk_v": sdk_v,
        "doc_kind": rng.choice(DOC_KINDS), "cache_ttl": str(rng.choice((6, 12, 24, 48))),
    }


def _make_cause(rng: random.Random, theme: Theme, ctx: dict[str, str]) -> _Cause:
    parts = [rng.choice(theme.setups), rng.choice(theme.mechanisms), rng.choice(theme.consequences)]
    aside = rng.choice(GENERIC_ASIDES)
    if aside:
        parts.insert(rng.randint(1, 3), aside)
    return _Cause(
        theme=theme,
        title=rng.choice(theme.titles).format_map(ctx),
        description=" ".join(parts).format_map(ctx),
        why=rng.choice(theme.evals_missed).format_map(ctx),
        explicit_category=rng.random() < 0.8,
    )


def _timeline(rng: random.Random, primary: Theme, ctx: dict[str, str], times: dict[str, datetime]) -> list[tuple[datetime, str]]:
    detect = rng.choice(DETECTIONS).format_map(ctx)
    diag_at = times["detected"] + (times["mitigated"] - times["detected"]) / 2
    events = [
        (times["started"], rng.choice(primary.changes).format_map(ctx) + "."),
        (times["detected"], f"Detection: {detect[0].lower()}{detect[1:]}."),
        (diag_at, "Diagnosis: " + rng.choice(primary.diagnoses).format_map(ctx) + "."),
        (times["mitigated"], "Mitigation: " + rng.choice(primary.fixes).format_map(ctx) + "."),
        (times["resolved"], "Resolved; metrics back to normal."),
    ]
    if rng.random() < 0.4:
        events.insert(2, (times["detected"] + (diag_at - times["detected"]) * rng.uniform(0.2, 0.8),
                          f"{ctx['team']} on-call acknowledged and opened an incident channel."))
    return events


def _action_rows(rng: random.Random, themes: list[Theme], ctx: dict[str, str], resolved: datetime,
                 draft: bool) -> list[tuple[str, str, str, str]]:
    rows = []
    for i, theme in enumerate(themes):
        # The primary cause gets one or two follow-ups; contributing ones at most one.
        count = rng.randint(1, 2) if i == 0 else rng.randint(0, 1)
        for action in rng.sample(theme.actions, count):
            owner = "" if draft and rng.random() < 0.5 else rng.choice((ctx["team"], f"{ctx['team']} on-call", "ml-platform"))
            deadline = "TBD" if (draft or rng.random() < 0.05) and rng.random() < 0.5 else \
                (resolved + timedelta(days=rng.randint(7, 60))).strftime("%Y-%m-%d")
            status = rng.choice(("open", "open", "in-progress", "done"))
            rows.append((action.format_map(ctx), owner, deadline, status))
    return rows


def _front_matter(rng: random.Random, incident_id: str, title: str, status: str, severity: str,
                  times: dict[str, datetime], ctx: dict[str, str], themes: list[Theme]) -> str:
    impact = rng.choice(IMPACTS).format_map(ctx)
    tags = [ctx["service"], *themes[0].tags] + ([themes[1].tags[0]] if len(themes) > 1 else [])
    lines = [
        "---",
        f"id: {incident_id}",
        f"title: {title}",
        f"status: {status}",
        f"severity: {severity}",
        f"started_at: {_iso(times['started'])}",
        f"detected_at: {_iso(times['detected'])}",
        f"mitigated_at: {_iso(times['mitigated'])}",
        f"resolved_at: {_iso(times['resolved'])}",
    ]
    if status != "draft":
        lines.append(f"postmortem_published_at: {_iso(times['published'])}")
    lines += [
        f"team: {ctx['team']}",
        f"services: [{ctx['service']}]",
        "customer_impact:",
        f"  summary: {impact}",
        f"  customers_affected: {ctx['n_cust'].replace(',', '')}",
        f"  requests_affected: {ctx['n_req'].replace(',', '')}",
        f"publication: {'external' if rng.random() < 0.15 else 'internal'}",
        f"tags: [{', '.join(tags)}]",
        "ai:",
        f"  provider: {ctx['provider']}",
        f"  model: {ctx['model']}",
        f"  model_version: {ctx['model_version']}",
        f"  temperature: {ctx['temp']}",
        "  top_p: 1.0",
        f"  max_tokens: {ctx['max_tokens']}",
        f"  system_prompt_version: {ctx['prompt_v']}",
    ]
    if themes[0].category == "retrieval" or rng.random() < 0.3:
        lines.append(f"  retrieval_index_version: {ctx['index_old']}")
    lines.append("---")
    return "\n".join(lines)


def _summary(rng: random.Random, primary: Theme, causes: list[_Cause], ctx: dict[str, str], times) -> str:
    detect = rng.choice(DETECTIONS).format_map(ctx)
    hours = round((times["mitigated"] - times["started"]).total_seconds() / 3600)
    duration = "less than an hour" if hours < 1 else "about an hour" if hours == 1 else f"about {hours} hours"
    return (f"{causes[0].description.split('. ')[0].rstrip('.')}. {rng.choice(primary.consequences).format_map(ctx)} "
            f"{detect}; it took {duration} to mitigate.")


def _samples(rng: random.Random, themes: list[Theme], ctx: dict[str, str]) -> list[str]:
    samples = [s.format_map(ctx) for t in themes[:2] for s in rng.sample(t.samples, 1)]
    if themes[0].key == "pii_leak" and rng.random() < 0.15:
        # An unredacted address, as real drafts sometimes have: lint must flag it (EL007).
        samples.append("Please contact jordan.rivera@example.com about the refund.")
    return samples


def _render_template(rng, incident_id, title, status, severity, times, ctx, themes, causes) -> str:
    """The template's own sections, in its order; drafts leave some as TBD."""
    draft = status == "draft"
    primary = themes[0]
    out = [_front_matter(rng, incident_id, title, status, severity, times, ctx, themes), "", f"# {title}", "",
           "## Summary", _summary(rng, primary, causes, ctx, times), "", "## Timeline", "All times UTC.", ""]
    out += [f"- {_stamp(at)} — {text}" for at, text in _timeline(rng, primary, ctx, times)]
    out += ["", "## Root causes", ""]
    for i, cause in enumerate(causes, start=1):
        out.append(f"### {i}. {cause.title}")
        if cause.explicit_category:
            out.append(f"- Category: {cause.theme.category}")
        out.append(f"- Description: {cause.description}")
        if not (draft and rng.random() < 0.4):
            out.append(f"- Why evals missed it: {cause.why}")
        out.append("")
    out += ["## Mitigation and action items", "### Immediate fix", rng.choice(primary.fixes).format_map(ctx) + ".", ""]
    if draft and rng.random() < 0.5:
        out += ["### New eval case", "TBD", ""]
    else:
        out += ["### New eval case", f"- Eval case: {primary.eval_case.format_map(ctx)}",
                f"- Checks: {rng.choice(primary.checks).format_map(ctx)}", ""]
    out += ["### Systemic prevention", "| Action | Owner | Deadline | Status |", "|---|---|---|---|"]
    out += [f"| {a} | {o} | {d} | {s} |" for a, o, d, s in _action_rows(rng, themes, ctx, times["resolved"], draft)]
    out += ["", "## Prompt diff"]
    if primary.category == "prompt" or "prompt" in primary.key:
        out += ["```diff", f"- You are the {ctx['service']} assistant. Answer from the provided sources only.",
                f"+ You are the {ctx['service']} assistant. Answer helpfully and concisely.", "```"]
    else:
        out.append("TBD" if draft else "None: no prompt change was involved in this incident.")
    config = (f"{ctx['provider']} {ctx['model']} ({ctx['model_version'].strip(chr(34))}), temperature {ctx['temp']}, "
              f"max_tokens {ctx['max_tokens']}; system prompt {ctx['prompt_v']}.")
    out += ["", "## Model version and config", config, "", "## Sample failing outputs"]
    if draft and rng.random() < 0.5:
        out.append("TBD")
    else:
        for sample in _samples(rng, themes, ctx):
            out += ["", f"> {sample}"]
    out += ["", "## Eval coverage gap analysis"]
    out.append("TBD" if draft and rng.random() < 0.5 else causes[0].why)
    return "\n".join(out) + "\n"


def _render_freeform(rng, incident_id, title, status, severity, times, ctx, themes, causes) -> str:
    """Front matter, but the team's own headings: a table timeline, numbered bold causes, checkboxes."""
    primary = themes[0]
    out = [_front_matter(rng, incident_id, title, status, severity, times, ctx, themes), "", f"# {title}", "",
           "## What happened", _summary(rng, primary, causes, ctx, times), "",
           "## Impact", f"- {rng.choice(IMPACTS).format_map(ctx)}", f"- {rng.choice(primary.consequences).format_map(ctx)}",
           "", "## Timeline (UTC)", "| Time | Event |", "|---|---|"]
    out += [f"| {_stamp(at)} | {text} |" for at, text in _timeline(rng, primary, ctx, times)]
    out += ["", rng.choice(("## What went wrong", "## Contributing factors", "## Why it happened"))]
    for i, cause in enumerate(causes, start=1):
        out.append(f"{i}. **{cause.title}.** {cause.description} {cause.why}")
    out += ["", "## Regression eval",
            f"`{primary.eval_case.format_map(ctx)}`: {rng.choice(primary.checks).format_map(ctx)}.", "",
            rng.choice(("## Follow-ups", "## Next steps", "## Action items"))]
    for action, owner, deadline, action_status in _action_rows(rng, themes, ctx, times["resolved"], status == "draft"):
        box = "x" if action_status == "done" else " "
        who = f"owner: {owner}, " if owner else ""
        due = f"due {deadline}" if deadline != "TBD" else "due TBD"
        out.append(f"- [{box}] {action} ({who}{due})")
    out += ["", "## Sample outputs (redacted)"]
    for sample in _samples(rng, themes, ctx):
        out += ["", f"> {sample}"]
    out += ["", "## Lessons learned", rng.choice(LESSONS)]
    return "\n".join(out) + "\n"


def _render_no_front_matter(rng, incident_id, title, status, severity, times, ctx, themes, causes) -> str:
    """No front matter at all: facts in the prose, month-name timeline, tagged or bold-led causes."""
    primary = themes[0]
    started = times["started"]
    out = [f"# {title}", "", f"Team: {ctx['team']}. Severity: {severity} by our rubric.", "",
           f"- Started: {_stamp(started)} UTC", f"- Detected: {_stamp(times['detected'])} UTC",
           f"- Mitigated: {_stamp(times['mitigated'])} UTC",
           f"- Resolved: {_stamp(times['resolved'])} UTC", "", "## Summary", "",
           _summary(rng, primary, causes, ctx, times), "", "## Timeline", ""]
    last_day = None
    for at, text in _timeline(rng, primary, ctx, times):
        if at.date() != last_day:
            when = f"{at:%b} {at.day} {at.year}, {at:%H:%M}" if last_day is None else f"{at:%b} {at.day}, {at:%H:%M}"
            last_day = at.date()
        else:
            when = f"{at:%H:%M}"
        out.append(f"- {when} — {text}")
    out += ["", "## Contributing factors", ""]
    if len(causes) > 1 and rng.random() < 0.5:
        for cause in causes:
            out += [f"**{cause.title}.** {cause.description} {cause.why}", ""]
    else:
        for cause in causes:
            out.append(f"- [{cause.theme.category}] {cause.title}. {cause.description} {cause.why}")
        out.append("")
    out += ["## Fix", rng.choice(primary.fixes).format_map(ctx) + ".", "", "## Follow-ups"]
    for action, owner, deadline, _ in _action_rows(rng, themes, ctx, times["resolved"], status == "draft"):
        out.append(f"- {action} — owner: {owner or 'TBD'}, due {deadline}")
    out += ["", "## Regression test",
            f"`{primary.eval_case.format_map(ctx)}` {rng.choice(primary.checks).format_map(ctx)}."]
    return "\n".join(out) + "\n"


def _incident_times(rng: random.Random, started: datetime) -> dict[str, datetime]:
    detected = started + timedelta(minutes=int(rng.lognormvariate(4.5, 1.2)))
    mitigated = detected + timedelta(minutes=rng.randint(10, 600))
    resolved = mitigated + timedelta(minutes=rng.randint(30, 2880))
    # Most are published within the 72-hour rule; some are late (lint EL005).
    published = resolved + timedelta(hours=rng.choice((20, 30, 44, 60, 70, 96, 150)))
    return {"started": started, "detected": detected, "mitigated": mitigated, "resolved": resolved, "published": published}


def _build_incidents(n: int, seed: int) -> list[_Incident]:
    rng = random.Random(seed)
    span = (LAST_START - FIRST_START).total_seconds()
    offsets = sorted(rng.random() for _ in range(n))  # sorted: ids rise with dates, as real ones do
    per_year: dict[int, int] = {}
    incidents = []
    for offset in offsets:
        started = FIRST_START + timedelta(minutes=int(offset * span / 60))
        per_year[started.year] = per_year.get(started.year, 0) + 1
        incident_id = f"PM-{started.year}-{per_year[started.year]:05d}"
        times = _incident_times(rng, started)
        team, services = _weighted(rng, zip(TEAMS, TEAM_WEIGHTS))
        ctx = _context(rng, team, services)
        # Durations in the prose agree with the front matter.
        ctx["hours"] = str(max(1, round((times["resolved"] - started).total_seconds() / 3600)))
        count = _weighted(rng, CAUSE_COUNTS)
        themes = _pick_themes(rng, count, _theme_weights(offset))
        causes = [_make_cause(rng, theme, ctx) for theme in themes]
        title = rng.choice(themes[0].headlines).format_map(ctx)
        severity = _weighted(rng, SEVERITY_WEIGHTS)
        layout = rng.random()
        status = "draft" if rng.random() < 0.1 else rng.choice(("published", "published", "published", "in-review"))
        if layout < 0.65:
            markdown = _render_template(rng, incident_id, title, status, severity, times, ctx, themes, causes)
        elif layout < 0.87:
            markdown = _render_freeform(rng, incident_id, title, status, severity, times, ctx, themes, causes)
        else:
            markdown = _render_no_front_matter(rng, incident_id, title, status, severity, times, ctx, themes, causes)
        if rng.random() < 0.01:
            # Blame language slips into a few real post-mortems; lint must catch it (EL006).
            markdown += "\nIn hindsight this was human error during a rushed release.\n"
        rel_path = f"{started.year}/{team}/{incident_id}-{_slug(title)}.md"
        incidents.append(_Incident(incident_id, rel_path, markdown, causes))
    return incidents


def generate_corpus(target_dir: Path, n: int, seed: int = 0) -> list[Path]:
    """Write `n` synthetic post-mortems under target_dir/<year>/<team>/, plus manifest.json
    (n, seed, generator version) and labels.csv (incident_id, cause seq, theme, category).

    Returns the paths of the Markdown files, in id order. Existing files of the same name are
    overwritten; other files in target_dir are left alone.
    """
    target_dir = Path(target_dir)
    incidents = _build_incidents(n, seed)
    paths = []
    made_dirs: set[Path] = set()
    for incident in incidents:
        path = target_dir / incident.rel_path
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_bytes(incident.markdown.encode("utf-8"))
        paths.append(path)
    with open(target_dir / LABELS_NAME, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("incident_id", "seq", "theme", "category"))
        for incident in incidents:
            for seq, cause in enumerate(incident.causes, start=1):
                writer.writerow((incident.incident_id, seq, cause.theme.key, cause.theme.category))
    manifest = {"n": n, "seed": seed, "generator_version": GENERATOR_VERSION,
                "files": [incident.rel_path for incident in incidents]}
    (target_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=0) + "\n", encoding="utf-8")
    return paths


def read_manifest(target_dir: Path) -> dict | None:
    """The manifest of a corpus generated into target_dir, or None if there is none."""
    try:
        return json.loads((Path(target_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_labels(target_dir: Path) -> dict[tuple[str, int], str]:
    """Ground truth for the theme benchmarks: (incident_id, cause seq) -> theme key."""
    with open(Path(target_dir) / LABELS_NAME, newline="", encoding="utf-8") as fh:
        return {(row["incident_id"], int(row["seq"])): row["theme"] for row in csv.DictReader(fh)}


def modify_one(path: Path) -> None:
    """Edit one post-mortem the way a reviewer would: a new follow-up line at the end.

    Each call appends another numbered revision, so the size always changes and the file is
    seen as changed whatever the file system's timestamp resolution.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    revision = text.count("Revised after the weekly review") + 1
    path.write_text(text + f"\nRevised after the weekly review (revision {revision}): owners confirmed.\n",
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic post-mortem corpus for benchmarks.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--n", type=int, default=10_000, help="number of post-mortems (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate_corpus(args.out_dir, args.n, args.seed)
    elapsed = time.perf_counter() - started
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} post-mortems ({total / 1e6:.1f} MB) to {args.out_dir} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
