"""In-process latency samples for the runtime benchmark (steprunner runs every step in one process)."""

samples: list[float] = []
