"""A worker node of a two-node Ray cluster (both on this machine) removed mid-job loses and repeats nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from latentstack_ray.engine import RayEngine
from latentstack_ray.loopback import loopback_only

from .conftest import FAULT_OPTIONS

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[tuple[Any, Any]]:
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    loopback_only()
    try:
        made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        worker = made.add_node(num_cpus=1)
        made.wait_for_nodes()
    except Exception as exc:  # the machine cannot host Ray at all (no shared memory, no ports)
        pytest.skip(f"a local Ray cluster cannot start here: {exc}")
    yield made, worker
    ray.shutdown()
    made.shutdown()


def test_a_node_removed_mid_job_loses_nothing(cluster: tuple[Any, Any],
                                              fault_reference: tuple[list[str], np.ndarray]) -> None:
    """The job's two actors run one per node; the worker node goes away while they embed. Ray Data retries
    the lost tasks on the surviving node, and every passage comes back once with the vector a local run gives."""
    made, worker = cluster
    assert made.address.startswith("127.0.0.1:")  # the cluster listens on loopback only
    texts, ref = fault_reference
    options = FAULT_OPTIONS
    job = RayEngine.from_options(workers=2, batch_size=16, shard_size=300, address=made.address)
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(vectors=job.embed(texts, "bert", options)))
    runner.start()
    deadline = time.time() + 120
    while time.time() < deadline and runner.is_alive() and not job.bar.bar:
        time.sleep(0.2)
    time.sleep(6)  # the actors are embedding: take their node away
    removed = runner.is_alive()
    made.remove_node(worker)
    runner.join(600)
    assert removed, "the job ended before the node could be removed: give it more texts"
    vectors = result["vectors"]
    assert isinstance(vectors, np.ndarray) and vectors.shape == ref.shape
    assert float(np.abs(vectors - ref).max()) < 1e-4
    assert job.summary()["embedded"] == len(texts)
