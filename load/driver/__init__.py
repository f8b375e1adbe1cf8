"""The shared driver of the load scripts: what every benchmark needs, so each script is only its scenario.

* ``server``: a ``safestream serve`` child process (start, wait for /healthz, stop by PID, its log).
* ``machine``: CPU and RSS from /proc, the shared machine's load, this process's own CPU.
* ``wire``: a raw Engine.IO v4 / Socket.IO v5 client (cheap enough to simulate thousands of viewers).
* ``accounts``: registering and logging in the simulated users.
* ``workers``: client processes behind pipes (one core cannot drive the server alone).
* ``stats``: percentiles, medians of runs, number formatting.
* ``cli``: the command-line options several scripts share.
* ``texts``: the chat lines the scripts send.
* ``moderation``: the server's moderation step built in-process, for the moderation benchmarks.
* ``fanout_*``: the fan-out benchmark's client processes, figures and runs.

Nothing here imports Locust (it breaks pytest in the test venv) or psutil (/proc is read directly).
Scripts run as ``python load/<script>.py``, so ``load/`` is on ``sys.path`` and this package
is importable as ``driver``.
"""
