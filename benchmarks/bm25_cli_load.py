"""What a CLI search pays to load a large BM25 index: a fresh process loads the folder and answers one query.

Saves 200,000 synthetic passages (as bm25_load.py makes them) with the code on PYTHONPATH, then loads them in
fresh processes, alternating with the other code's folder. Run it as:

    python benchmarks/bm25_cli_load.py save FOLDER_NOW
    PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/bm25_cli_load.py save FOLDER_BEFORE
    for r in 1 2 3 4 5; do
      PYTHONPATH=OLD/corelib:OLD/plugins python benchmarks/bm25_cli_load.py before FOLDER_BEFORE
      python benchmarks/bm25_cli_load.py now FOLDER_NOW
    done
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from latentstack_bm25.index import Bm25Index  # noqa: E402

if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "save":
        from bm25_load import synthetic

        texts = synthetic(200_000)
        index = Bm25Index()
        index.add(list(range(len(texts))), texts)
        index.search("w1 w2")
        index.save(folder)
    else:
        start = time.perf_counter()
        Bm25Index.load(folder).search("w12 w7 w301")
        print(mode, "load and first search s", round(time.perf_counter() - start, 3))
