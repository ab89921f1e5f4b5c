"""Unit tests of bench/benchlib: log parsing, paired statistics, the report and its targets,
install rounds, the generated debian/, and bench/matrix's sources and report.
Pure logic: nothing is built or installed (/usr/bin/python3 -m pytest -q bench/tests)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent
# benchlib and pybench, and dh_pyrpath (no conftest.py here: the suite's tests/conftest.py is
# the one `from conftest import` must find when both directories run together)
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from benchlib import aptsrc, builds, cli, host, installs, matrix, report, targets, timing, variants  # noqa: E402

# bench/run's results of 2026-11-22 (before issue 15: no PGO by default, no install figure)
LATEST = BENCH / "tests" / "data" / "results-2026-11-22.json"


def test_step_times_sums_repeated_stages_and_times_steps(tmp_path):
    log = tmp_path / "b.log"
    log.write_text(
        "$ dpkg-buildpackage -us -uc -b    (in /x)\n"
        "[    0.10] dpkg-source --before-build .\n"
        "[    1.00]    dh_pyrpath\n"
        "[   10.00] dh_pyrpath: pkg: build: CPython 3.11.2 instrumented for PGO, make -j2 (5.5 s)\n"
        "[   20.00] dh_pyrpath: pkg: train: the PGO workload (2.0 s)\n"
        "[   30.00] dh_pyrpath: pkg: build: CPython 3.11.2 with the profile, make -j2 (4.5 s)\n"
        "[   31.00] dh_pyrpath: pkg: link: bin/python3.11 with LTO (1.0 s)\n"
        "[   40.00]    dh_builddeb\n"
        "[   45.50] dpkg-genchanges --build=binary\n")
    steps, stages, profile = builds.step_times(log)
    assert stages == {"build": 10.0, "train": 2.0, "link": 1.0}
    assert steps["dh_pyrpath"] == pytest.approx(39.0)
    assert steps["dh_builddeb"] == pytest.approx(5.5)
    assert profile == "PGO+LTO"


@pytest.mark.parametrize("lines, profile", [
    # LTO in the optimised compile itself (no link stage)
    (["configure: CPython 3.13.5 (20.0 s)",
      "build: CPython 3.13.5 instrumented for PGO, make -j2 (100.0 s)",
      "train: the PGO workload (50.0 s)",
      "build: CPython 3.13.5 with the profile and LTO, make -j2 (200.0 s)"], "PGO+LTO"),
    (["configure: CPython 3.13.5 (20.0 s)", "build: CPython 3.13.5 instrumented for PGO, "
      "make -j2 (100.0 s)", "train: the PGO workload (50.0 s)",
      "build: CPython 3.13.5 with the profile, make -j2 (200.0 s)"], "PGO"),
    (["configure: CPython 3.11.2 (20.0 s)", "build: CPython 3.11.2, make -j2 (90.0 s)"], "no PGO"),
    # the interpreter came from the cache: the build measured no compile
    (["interpreter: CPython from debian:python3.11 placed at /opt/x (2.0 s)"], None),
])
def test_interpreter_profile_is_read_from_the_stage_lines(tmp_path, lines, profile):
    log = tmp_path / "b.log"
    log.write_text("".join(f"[{i:8.2f}] dh_pyrpath: pkg: {line}\n" for i, line in enumerate(lines)))
    assert builds.step_times(log)[2] == profile
    # results written before the profile was recorded: judged from the stage names
    assert report.profile_of({"stages": {"configure": 1.0, "build": 2.0}}) == "no PGO"


def test_paired_is_the_median_of_ratios_within_rounds():
    # round 2 is slow for both: the ratio within it is still 1.0
    times = {"a": [1.0, 4.0, 1.2], "b": [1.0, 4.0, 1.0]}
    assert timing.paired(times, "a", "b") == pytest.approx(1.0)
    assert timing.paired({"a": [2.0, 3.0, 9.0], "b": [1.0, 1.0, 1.0]}, "a", "b") == 3.0


def cells(lines, first):
    """The stripped cells of the table row whose first cell is `first`."""
    for line in lines:
        parts = [c.strip() for c in line.split("|")]
        if parts[0] == first:
            return parts[1:]
    raise AssertionError(f"no row {first!r}")


def render(res):
    args = cli.parse_args(json.loads(LATEST.read_text())["meta"]["command"].split()[1:])
    return report.report(res, args)


def test_report_of_earlier_results_shows_the_new_targets():
    res = json.loads(LATEST.read_text())
    lines = render(res)
    # that run's default build had no PGO (the recipe before issue 15), and no install figure
    assert "install 5" not in lines[3]
    assert cells(lines, "cold build, empty caches (interpreter: no PGO)") == [
        "153.9 s (2m33.9s)", "24.2 s", "6.36x"]
    assert cells(lines, "default build speed >= 1.00x python3.11 (pybench geomean)") == [
        "0.868x", "MISSED"]
    assert cells(lines, "--optimize speed >= 1.05x python3.11") == ["0.973x", "MISSED"]
    assert cells(lines, "warm rebuild <= 0.50x dh-virtualenv") == [
        "hello-service 0.72x, web-service 0.39x", "MISSED"]
    assert cells(lines, "install on a target <= 0.80x dh-virtualenv (`dpkg -i`)") == [
        "not measured", "-"]
    assert cells(lines, "cold build, interpreter included, < 8 min") == [
        "hello-service 2.6 min (no PGO), web-service 2.9 min (no PGO)", "met"]
    assert cells(lines, "console start-up <= 0.95x dh-virtualenv (default build)")[0] == (
        "hello-service 1.09x, web-service 1.13x (--optimize: hello-service 0.98x, "
        "web-service 0.98x)")


def test_report_shows_install_times_and_judges_them(monkeypatch):
    res = json.loads(LATEST.read_text())
    hello = res["projects"]["hello-service"]
    hello["install"] = {"pyrpath": [6.0, 9.0, 6.6], "venv": [5.0, 9.0, 6.0]}
    hello["installed_bytes"] = {"pyrpath": 37_000_000, "venv": 27_000_000}
    lines = render(res)
    text = "\n".join(lines)
    # medians 6.6 s and 6.0 s; the ratio is the median of the ratios within rounds
    assert cells(lines, "install on a target: `dpkg -i` (unpack, postinst, triggers)") == [
        "6.6 s", "6.0 s", "1.10x"]
    assert cells(lines, "prefix on disk after it (bytecode included)") == [
        "37.0 MB", "27.0 MB", "1.37x"]
    assert cells(lines, "install on a target <= 0.80x dh-virtualenv (`dpkg -i`)") == [
        "hello-service 1.10x", "MISSED"]
    assert "runs: cold 1, warm 3, start-up 20 (+3 warm-up), install 5, pybench rounds 20" in text


def test_warm_target_is_judged_on_every_project():
    assert targets.warm_row({"warm": [("hello-service", 0.45), ("web-service", 0.6)]})[0][2] \
        == "MISSED"
    assert targets.warm_row({"warm": [("hello-service", 0.45), ("web-service", 0.3)]})[0][2] \
        == "met"


def test_report_shows_the_same_compressor_warm_ratio():
    res = json.loads(LATEST.read_text())
    hello = res["projects"]["hello-service"]["builds"]
    hello["venv"]["warm-zstd"] = [dict(hello["venv"]["warm"][0], seconds=20.0,
                                       deb_bytes=6_000_000)]
    lines = render(res)
    assert cells(lines, "same, dh-virtualenv with zstd too")[1:] == ["20.0 s", "1.09x"]


def test_cold_target_needs_the_interpreter_built_in_under_8_minutes():
    assert targets.cold_row({"cold": [("a", 479.0, "PGO+LTO")]})[0][2] == "met"
    assert targets.cold_row({"cold": [("a", 481.0, "PGO+LTO")]})[0][2] == "MISSED"
    # a "cold" build that found its interpreter cached measured nothing
    assert targets.cold_row({"cold": [("a", 30.0, None)]})[0][2] == "MISSED"


def test_install_rounds_purge_first_and_alternate(monkeypatch, tmp_path):
    calls = []

    def fake_dpkg(args, log):
        calls.append(tuple(str(a) for a in args))
        return 1.0 if args[0] == "-i" else 0.0

    monkeypatch.setattr(installs, "dpkg", fake_dpkg)
    times = installs.time_installs({"pyrpath": ("p", "p.deb"), "venv": ("v", "v.deb")}, 2,
                                   tmp_path / "log")
    assert times == {"pyrpath": [1.0, 1.0], "venv": [1.0, 1.0]}
    assert calls == [("--purge", "p"), ("-i", "p.deb"), ("--purge", "v"), ("-i", "v.deb"),
                     ("--purge", "v"), ("-i", "v.deb"), ("--purge", "p"), ("-i", "p.deb")]


def test_generated_debian_uses_the_hosts_default_python(tmp_path):
    python = host.python()
    src = variants.make_source("hello-service", "venv", tmp_path)
    rules = (src / "debian" / "rules").read_text()
    assert f"--python /usr/bin/{python} " in rules
    assert f"{python}-venv" in (src / "debian" / "control").read_text()
    src = variants.make_source("hello-service", "pyrpath-opt", tmp_path)
    settings = (src / "debian" / "bench-hello-pyrpath-opt.pyrpath").read_text()
    assert settings == f"python-source = debian:{python}\ninstall-root = /opt\noptimize = true\n"
    assert (src / "debian" / "deb-requirements.txt").read_text().count("==") == 2


def test_other_release():
    assert aptsrc.other_release("bookworm") == "trixie"
    assert aptsrc.other_release("trixie") == "bookworm"
    assert aptsrc.other_release("forky") is None


@pytest.mark.parametrize("argv, message", [
    (["--tarball", "x.tgz"], "each --tarball PATH needs one --sha256"),
    (["--source", "debian:python3"], "give host, other or debian:python3.X"),
    (["--tarball", "x.tgz", "--sha256", "abc"], "give the 64 hex digits"),
    (["--no-defaults"], "no sources"),
])
def test_matrix_refuses_bad_arguments_with_one_line(argv, message):
    proc = subprocess.run([sys.executable, str(BENCH / "matrix"), *argv], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 2
    assert message in proc.stderr.strip().splitlines()[-1]


def test_matrix_sources_default_to_host_and_other_plus_those_given():
    args = matrix.parse_args(["--source", "debian:python3.14=3.14.10-1@sid", "--source", "host",
                              "--tarball", "py.tgz", "--sha256", "A" * 64])
    assert [e.asked for e in args.entries] == ["host", "other", "debian:python3.14=3.14.10-1@sid",
                                                "py.tgz"]
    assert args.entries[-1].sha256 == "a" * 64 and args.entries[-1].where == "tarball"
    assert matrix.SPEC_RE.match("debian:python3.14=3.14.10-1@sid").groups() == (
        "python3.14", "3.14.10-1", "sid")


def test_matrix_tarball_problems_are_not_obtainable(tmp_path):
    entry = matrix.Entry("x", where="tarball", spec=str(tmp_path / "missing.tgz"), sha256="0" * 64)
    assert matrix.resolve(entry).status == "source not obtainable"
    assert "not found" in entry.reason
    tarball = tmp_path / "Python-3.12.0.tgz"
    tarball.write_bytes(b"not a tarball")
    entry = matrix.Entry("x", where="tarball", spec=str(tarball), sha256="0" * 64)
    assert matrix.resolve(entry).status == "source not obtainable"
    assert "sha256 is" in entry.reason


def test_matrix_names_packages_apart():
    entries = [matrix.Entry("a", package="bench-matrix-py313-trixie"),
               matrix.Entry("b", package="bench-matrix-py313-sid"),
               matrix.Entry("c", package="bench-matrix-py313-trixie")]
    matrix.name_apart(entries)
    assert [e.package for e in entries] == ["bench-matrix-py313-trixie", "bench-matrix-py313-sid",
                                            "bench-matrix-py313-trixie-2"]


def test_matrix_build_error_is_dh_pyrpaths_line(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("[    1.00] something\n[    2.00] dh_pyrpath: error: apt's index lists "
                   "python3.14 3.14.10-1 but the archive does not serve its files (404)\n"
                   "[    2.10] make: *** [debian/rules:4: binary] Error 25\n")
    error = matrix.build_error(log)
    assert error.startswith("apt's index lists python3.14")
    assert any(m in error for m in matrix.SOURCE_ERRORS)


def test_matrix_report_shows_each_outcome():
    ok = matrix.Entry("host", spec="debian:python3.11=3.11.2-6", version="3.11.2",
                      package="bench-matrix-py311-host", status="pass",
                      build={"seconds": 500.0, "deb_bytes": 5_100_000, "installed_kib": 24_000,
                             "stages": {"configure": 20.0, "train": 60.0, "link": 30.0,
                                        "verify": 0.3}},
                      isolation={"verify": True, "elf": [], "loader": [], "runtime": [],
                                 "service": "ok 3.11.2"})
    bad = matrix.Entry("debian:python3.14", where="sid deb-src", version="3.14",
                       status="source not obtainable", reason="the archive does not serve it")
    res = {"meta": {"date": "d", "host": "h", "cpus": 2, "command": "bench/matrix", "git": "g",
                    "tool": "t", "profile": "default (PGO+LTO)", "load_start": 0.0},
           "entries": [matrix.asdict(ok), matrix.asdict(bad)]}
    lines = matrix.report(res)
    text = "\n".join(lines)
    assert cells(lines, "3.11.2") == ["debian:python3.11=3.11.2-6", "host apt", "pass",
                                      "500.0 s (8m20.0s)", "PGO+LTO", "5.10 MB", "24.6 MB", "ok"]
    assert cells(lines, "3.14") == ["debian:python3.14", "sid deb-src", "source not obtainable",
                                    "-", "-", "-", "-", "-"]
    assert "3.14 (debian:python3.14): source not obtainable: the archive does not serve it" in text
    ok.isolation["loader"] = ["the loader maps libpython (/usr/lib/libpython3.11.so.1.0)"]
    assert matrix.isolation_problems(ok.isolation) == ok.isolation["loader"]
    assert matrix.isolation_cell(ok) == "FAILED (1)"
