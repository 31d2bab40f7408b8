"""Adding a folder of notes to its index again: the whole folder unchanged, then with a few notes changed, then
with every note's front matter changed (their text as it was).

The 2,067 SQuAD dev paragraphs are written as one .md file each; `index build` indexes them
(MiniLM, the defaults), `index add --from` the same folder adds them again unchanged, again
after 10 files were edited, and again after a field was added to every note's front matter; then 10
documents are removed.
Each command is timed as a user runs it (a fresh process).
Run it with the code to compare on PYTHONPATH for the figures before a change:

    .venv/bin/python benchmarks/readd_folder.py ../shared/data/squad-dev-v1.1.json benchmarks/results/readd-folder/now
    PYTHONPATH=OLD/corelib:OLD/plugins .venv/bin/python benchmarks/readd_folder.py ../shared/data/squad-dev-v1.1.json \\
        benchmarks/results/readd-folder/before
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentstack.cpu import cpu_features


def _timed(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "latentstack", "-q", *args], capture_output=True, text=True,
                          check=True, env=os.environ)
    return round(time.perf_counter() - start, 2), done.stdout.strip()


def main(squad: Path, out: Path) -> None:
    data = json.loads(squad.read_text(encoding="utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    root = Path(tempfile.mkdtemp(prefix="readd-"))
    notes = root / "notes"
    notes.mkdir()
    for i, text in enumerate(paragraphs):
        (notes / f"p{i:05d}.md").write_text(text, encoding="utf-8")
    rows = {}
    rows["index build"] = _timed("index", "build", str(root / "idx"), "--from", str(notes))
    rows["index add, nothing changed"] = _timed("index", "add", str(root / "idx"), "--from", str(notes))
    for i in range(10):
        (notes / f"p{i:05d}.md").write_text(paragraphs[i] + " (edited)", encoding="utf-8")
    rows["index add, 10 files changed"] = _timed("index", "add", str(root / "idx"), "--from", str(notes))
    for note in notes.iterdir():
        note.write_text("---\nreviewed: true\n---\n" + note.read_text(encoding="utf-8"), encoding="utf-8")
    rows["index add, every front matter changed"] = _timed("index", "add", str(root / "idx"), "--from", str(notes))
    rows["index remove, 10 documents"] = _timed("index", "remove", str(root / "idx"),
                                                *(str(notes / f"p{i:05d}.md") for i in range(10, 20)))
    rows["search --where reviewed=true"] = _timed("search", str(root / "idx"), "wheat harvest", "--where",
                                                  "reviewed=true", "--json")
    result = {"files": len(paragraphs), "seconds": {k: s for k, (s, _) in rows.items()},
              "said": {k: said[:300] for k, (_, said) in rows.items()}, "cpu": sorted(cpu_features()),
              "code": str(Path(__import__("latentstack").__file__).parent)}
    print(json.dumps(result, indent=1))
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(root)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
