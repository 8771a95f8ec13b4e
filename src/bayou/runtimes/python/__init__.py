"""The Python runtime: Convex functions written in Python, run by a pool of worker
processes that speak Convex's syscall ABI (DESIGN.md, "The central seam").

    api/          the user-facing API, re-exported by `bayou` (decorators, v, ctx, schema …)
    host.py       `PythonRuntime`, the `Runtime` the core drives: modules, analysis, the pool
    process.py    one worker process seen from the host: frames, syscalls, watchdog
    frames.py     the host ↔ worker messages (one JSON object per line, dedicated pipes)
    worker.py     the worker process (`python -m bayou.runtimes.python.worker`)
    channel.py    the worker's pipes, the syscalls of the running call, its time limit
    loader.py     importing a pushed functions folder as the package `convex`
    analysis.py   what a functions folder defines, in the JSON the JS side reports
    sandbox.py    determinism (seeded random, frozen clock), no network, environment
    logs.py       print / logging / warnings as the call's log lines
    tracebacks.py errors as callers see them (user frames only)

How user code runs:
- A version's modules are written to `<root>/<version>/convex/` and imported as the
  package `convex` (relative imports `from .lib import x` and absolute `from convex.lib
  import x` both work). Each worker imports a version once and reuses the modules for the
  calls that follow (re-importing costs 2–6 ms a call against 0.3 ms for the whole call);
  every call gets a fresh `ctx`, a fresh seeded generator and the call's frozen clock.
  Module-level mutable state is neither guaranteed to persist nor to be reset between
  calls — as with Convex's reused isolates. A change of version or of environment
  variables re-imports.
- One call at a time per worker; queries and mutations have 1 s of user time (time spent
  waiting for syscalls excluded), actions their whole time limit; a worker that overruns,
  crashes or is abandoned mid-call is replaced.
"""
