"""A sentence-transformers folder read by the bert embedder against sentence-transformers itself, on real weights.

The packaged MiniLM is copied and its 1_Pooling set to [CLS] (as a BGE-style folder says);
1,000 SMS texts are embedded by SentenceTransformer.encode and by the bert embedder with its
defaults (the folder's pooling), and, for comparison, with mean pooling as it read every folder
before. Prints and saves the cosines (mean, min) with the CPU's features.

    .venv/bin/python benchmarks/st_folder_parity.py benchmarks/results/st-folder-parity
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import latentstack
from latentstack import get_embedder
from latentstack.cpu import cpu_features

ROOT = Path(__file__).resolve().parent


def main(out: Path) -> None:
    from sentence_transformers import SentenceTransformer

    folder = Path(tempfile.mkdtemp()) / "minilm-cls"
    shutil.copytree(latentstack.resolve_model("minilm").path, folder)
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "pooling_mode_cls_token": True,
                                   "pooling_mode_mean_tokens": False}))
    lines = (ROOT / "data" / "sms-spam.tsv").read_text(encoding="utf-8").splitlines()[1:1001]
    texts = [line.split("\t", 2)[-1] for line in lines]
    reference = SentenceTransformer(str(folder), device="cpu").encode(texts, normalize_embeddings=True)
    rows = {}
    for name, options in (("default options, float32", {"dtype": "float32"}), ("default options (dtype auto)", {}),
                          ("mean pooling, as every folder was read before", {"pooling": "mean", "dtype": "float32"})):
        emb = get_embedder("bert", model=str(folder), show_progress=False, **options)
        cos = (emb.embed_many(texts) * reference).sum(axis=1)
        rows[name] = {"pooling": emb.pooling, "dtype": emb.runtime_info()["dtype"],
                      "cosine_mean": round(float(cos.mean()), 5), "cosine_min": round(float(cos.min()), 5)}
    result = {"texts": len(texts), "model": "minilm with 1_Pooling set to cls", "rows": rows,
              "cpu": sorted(cpu_features())}
    print(json.dumps(rows, indent=1))
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(folder.parent)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
