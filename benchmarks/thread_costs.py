"""Two costs behind the linear heads' threading, printed as JSON lines, each measured REPS times in turn:

- one L-BFGS fit (``latentstack_linear.lbfgs``) with BLAS at its default thread count and at
  one thread, on random data of the shapes a head meets (SMS's MiniLM rows, larger binary
  data, a 48-class problem);
- starting and stopping a two-thread pool for six trivial tasks: joblib's threading backend
  against ``concurrent.futures.ThreadPoolExecutor``.

    python benchmarks/thread_costs.py 3
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from latentstack_linear.lbfgs import _path

SHAPES = ((3814, 384, 2), (50000, 768, 2), (8000, 384, 48))


def _seconds(f: object) -> float:
    started = time.perf_counter()
    f()  # type: ignore[operator]
    return round(time.perf_counter() - started, 4)


def _executor() -> list[int]:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(abs, range(6)))


def main(reps: int) -> None:
    """Print one JSON line per shape and one for the pools."""
    from joblib import Parallel, delayed

    rng = np.random.default_rng(0)
    for n, d, k in SHAPES:
        x = rng.standard_normal((n, d)).astype(np.float32)
        y = (x[:, :k] + 2 * rng.standard_normal((n, k))).argmax(axis=1)
        default, one = [], []
        for _ in range(reps):
            default.append(_seconds(partial(_path, x, y, [1.0], None)))
            with threadpool_limits(limits=1):
                one.append(_seconds(partial(_path, x, y, [1.0], None)))
        sys.stdout.write(json.dumps({"lbfgs_fit": [n, d, k], "blas_default_s": default, "blas_one_thread_s": one}) + "\n")
    pools: dict[str, list[float]] = {"joblib_threads_s": [], "thread_pool_executor_s": []}
    for _ in range(reps):
        pools["joblib_threads_s"].append(_seconds(lambda: Parallel(n_jobs=2, prefer="threads")(delayed(abs)(i) for i in range(6))))
        pools["thread_pool_executor_s"].append(_seconds(_executor))
    sys.stdout.write(json.dumps({"pool_start_stop_6_tasks": pools}) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]))
