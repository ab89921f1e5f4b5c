"""Requirements handling: what counts as pinned, how pip failures are explained."""
from dh_pyrpath import deps


def test_pinned_requirements():
    assert deps.is_pinned("click==8.1.7\npyzmq==26.4.0 ; python_version >= '3'\n# c\n")
    assert deps.is_pinned("requests[socks]==2.31.0 \\\n    --hash=sha256:abc\n")
    assert not deps.is_pinned("click>=8\n")
    assert not deps.is_pinned("click==8.*\n")
    assert not deps.is_pinned("-r other.txt\nclick==8.1.7\n")
    assert not deps.is_pinned("# nothing\n")


def test_requirement_lines_strip_options_and_comments():
    text = "--index-url https://x/simple\nfoo==1.0  # why\n\nbar==2 --hash=sha256:00\n"
    assert deps.requirement_lines(text) == ["foo==1.0", "bar==2"]


def test_pip_failures_become_one_clear_line():
    missing = deps.explain_pip_failure(
        ["ERROR: No matching distribution found for nosuchpkg==1.0"], "install dependencies", "x")
    assert "no distribution matches nosuchpkg==1.0" in missing
    offline = deps.explain_pip_failure(
        ["WARNING: Retrying ... NewConnectionError('...: Failed to establish a new connection')",
         "ERROR: No matching distribution found for foo"], "install dependencies", "x")
    assert "index is unreachable" in offline
    other = deps.explain_pip_failure(["ERROR: something odd"], "build the project", "fix it")
    assert other == "build the project failed: fix it"
