"""Small helpers shared by a few core tests."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import run_cli


def never_called() -> tuple[float, float]:
    """A probe that must not run."""
    raise AssertionError("the probe ran although the CPU has no bf16 units")


def run_doctor() -> str:
    """`latentstack doctor`'s output."""
    return run_cli("doctor", check=True).stdout


def write_squad(tmp_path: Path, articles: int = 6) -> Path:
    """A small SQuAD v1.1 file: ``articles`` articles of two paragraphs, three questions each."""
    data = []
    for a in range(articles):
        paragraphs = []
        for p in range(2):
            context = f"Article {a} paragraph {p}: the river Tamar{a}{p} flows past the old mill of Brent{a}{p}."
            qas = [{"id": f"q{a}-{p}-{i}", "question": f"Which mill does river {i} pass in {a}/{p}?",
                    "answers": [{"text": f"the old mill of Brent{a}{p}", "answer_start": 0},
                                {"text": f"Brent{a}{p}", "answer_start": 0}]} for i in range(3)]
            paragraphs.append({"context": context, "qas": qas})
        data.append({"title": f"Article {a}", "paragraphs": paragraphs})
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def write_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    """A real PDF of ``pages`` (one line of Helvetica text each; "" for a page without text), written by hand: each
    object at the offset its cross-reference table gives, as a PDF writer lays it out."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()]
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1") if text else b""
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    if title is not None:
        objects.append(f"<< /Title ({title}) >>".encode("latin-1"))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info = f" /Info {len(objects)} 0 R" if title is not None else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path
