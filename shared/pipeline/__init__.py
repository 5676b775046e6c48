"""The services Vigia's Celery tasks call: sweeps, analysis, on-demand investigations, maintenance.

Each module is plain library code over a :class:`~shared.pipeline.context.PipelineContext` (the
store, the Portal client, Redis and the summary writer of one process), so a task is two or
three lines and the same code runs in a worker, inline from ``vigia run --inline`` or in a test.
Nothing here imports Celery: where a long job must continue in a fresh task, the service returns
a step saying so and the task enqueues it. Progress that must survive a killed worker (which
pages are stored, which contracts still need analysis, which sweeps of a run are done) lives in
Redis (:mod:`shared.pipeline.state`); everything written to the database is an idempotent upsert.
"""
