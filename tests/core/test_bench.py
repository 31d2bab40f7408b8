"""The benchmark runner: shared options, the one-JSON-object contract, and the writers."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult, environment
from latentstack.bench.writers import markdown
from latentstack.cpu import cpu_features


@click.command()
@bench_options("a,b", data_required=False)
@suite
def toy(data, methods, limit, seed) -> BenchReport:  # noqa: ANN001
    """A toy suite: each method's metric is its position, so rows can be checked."""
    chosen = split_methods(methods, ["a", "b", "c"])
    click.echo("progress goes to stderr", err=True)
    report = BenchReport("toy", data or "none", limit or 3, params={"seed": seed})
    for i, m in enumerate(chosen):
        report.results.append(MethodResult(m, {"recall@5": i / 10}, {"query_per_s": 100.0 * (i + 1)}))
    return report


def test_json_is_exactly_one_object(tmp_path) -> None:  # noqa: ANN001
    """--json prints one JSON object on stdout with suite, env and one result per method."""
    res = CliRunner().invoke(toy, ["--methods", "b,c", "--json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["suite"] == "toy" and obj["n"] == 3
    assert [r["method"] for r in obj["results"]] == ["b", "c"]
    assert obj["results"][1]["metrics"]["recall@5"] == 0.1
    assert {"python", "cpu", "threads"} <= set(obj["env"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.json", "toy.md", "toy.png"]
    assert (tmp_path / "toy.png").read_bytes()[:4] == b"\x89PNG"


def test_an_earlier_report_is_kept_not_overwritten(tmp_path) -> None:  # noqa: ANN001
    """A second run into the same folder renames the first run's three files by the time they were written, then
    writes its own; the same report again leaves nothing extra."""
    first = CliRunner().invoke(toy, ["--methods", "a", "--json", "--out", str(tmp_path)])
    second = CliRunner().invoke(toy, ["--methods", "b,c", "--json", "--out", str(tmp_path)])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name.count(".") == 2)
    assert len(kept) == 3 and {p.rsplit(".", 1)[1] for p in kept} == {"json", "md", "png"}
    assert json.loads((tmp_path / kept[0]).read_text())["results"][0]["method"] == "a"
    assert [r["method"] for r in json.loads((tmp_path / "toy.json").read_text())["results"]] == ["b", "c"]
    assert "kept the earlier toy report" in second.stderr
    third = CliRunner().invoke(toy, ["--methods", "d", "--out", str(tmp_path)])  # refused: nothing written, nothing moved
    assert third.exit_code == 2 and len(list(tmp_path.iterdir())) == 6
    from latentstack.bench.writers import keep_previous

    assert keep_previous(tmp_path, "toy", json.loads((tmp_path / "toy.json").read_text())) is None


def test_a_users_file_with_a_report_name_is_kept(tmp_path) -> None:  # noqa: ANN001
    """A toy.md of the user's own, with no toy.json beside it, was overwritten by the run's markdown."""
    (tmp_path / "toy.md").write_text("my notes")
    done = CliRunner().invoke(toy, ["--methods", "a", "--json", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("toy.") and p.name.count(".") == 2]
    assert [p.read_text() for p in kept] == ["my notes"] and (tmp_path / "toy.md").read_text() != "my notes"


def test_unknown_method_is_usage_error(tmp_path) -> None:  # noqa: ANN001
    """An unknown method name lists the known ones and exits 2."""
    res = CliRunner().invoke(toy, ["--methods", "a,zzz", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "zzz" in res.output and "known: a, b, c" in res.output


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_one_is_a_usage_error(tmp_path, limit: str) -> None:  # noqa: ANN001
    """--limit 0 read as "no limit" and benchmarked the whole set; now it is refused before anything runs."""
    res = CliRunner().invoke(toy, ["--methods", "a", "--limit", limit, "--out", str(tmp_path)])
    assert res.exit_code == 2 and "Invalid value for '--limit'" in res.output and not list(tmp_path.iterdir())


def test_markdown_table_has_a_row_per_method() -> None:
    """The Markdown table has a header, a rule and one row per method."""
    report = BenchReport("toy", "d", 1, [MethodResult("x", {"f1": 0.5}), MethodResult("y", {"f1": 0.25})])
    lines = [ln for ln in markdown(report).splitlines() if ln.startswith("|")]
    assert lines[0] == "| method | f1 |"
    assert lines[2].startswith("| x | 0.5000")
    assert len(lines) == 4


def test_rows_come_back_from_their_json_form() -> None:
    """from_dict inverts to_dict, with and without the optional params and extra."""
    import json

    for row in (MethodResult("x", {"f1": 0.5}), MethodResult("y", {"f1": 0.25}, {"s": 1.0}, {"n": [1]}, {"size": "all"})):
        assert MethodResult.from_dict(json.loads(json.dumps(row.to_dict()))) == row


def test_markdown_names_the_cpu_features() -> None:
    """The footer says which SIMD features the figures were measured with, or that none of them was there."""
    report = BenchReport("toy", "d", 1, [MethodResult("x", {"f1": 0.5})])
    report.env = {"cpu": "Some Xeon", "threads": 2, "cpu_features": ["avx2", "avx512_vnni"]}
    assert "CPU Some Xeon (avx2 avx512_vnni), 2 threads." in markdown(report)
    report.env["cpu_features"] = []
    assert "CPU Some Xeon (no AVX2, AVX-512 or AMX), 2 threads." in markdown(report)
    del report.env["cpu_features"]
    assert "CPU Some Xeon, 2 threads." in markdown(report)


def test_markdown_timings_keep_three_significant_digits() -> None:
    """Scores keep 4 decimals; a 2.56 s timing prints as 2.56, a large one with thousands separators."""
    report = BenchReport("toy", "d", 1, [MethodResult("x", {"f1": 0.5}, {"train_s": 2.56, "per_s": 12345.67,
                                                                     "params": 4884480, "k": 3})])
    row = [ln for ln in markdown(report).splitlines() if ln.startswith("| x")][0]
    assert row == "| x | 0.5000 | 2.56 | 12,345.7 | 4,884,480 | 3 |"


def test_environment_records_versions() -> None:
    """The environment names python, cpu, threads and the installed versions."""
    env = environment()
    assert env["threads"] >= 1 and env["python"].count(".") == 2
    assert "numpy" in env
    assert isinstance(env["cpu_features"], list)


def test_cpu_features_reads_the_flags_line() -> None:
    """Only the listed SIMD features are kept, in a fixed order; a CPU without them has none."""
    info = "processor\t: 0\nflags\t\t: fpu sse2 amx_int8 avx2 fma avx512_vnni avx512f ht\nbugs\t\t: spectre\n"
    assert cpu_features(info) == ["avx2", "fma", "avx512f", "avx512_vnni", "amx_int8"]
    assert cpu_features("flags\t: fpu sse2 sse4_2\n") == []
    assert cpu_features("") == []
