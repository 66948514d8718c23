"""What the review meetings get: the weekly pattern report, the quarterly retrospective, the
abridged external post-mortem and the regression eval export. Plain Python over the
warehouse; the Dagster assets (pipelines/defs/reports.py) and the CLI (`emberline report`,
`emberline export`) call the same functions."""
