"""The bytecode the package ships, compiled at build time at the modules' installed paths.

Debian compiles at install time because one .py serves several Python versions; here the
interpreter is fixed, so the build is the right place: dpkg owns every pyc, `dpkg -V` checks
them, purge leaves none behind, and a target's install runs no compiler. The pycs are
timestamp-based, with every .py's mtime set to SOURCE_DATE_EPOCH: validating one on import
costs the stat the import system makes anyway, an edited .py is noticed (its mtime moves) and
compiled again, and the bytes are the same from every build (docs/bench.md has the
measurements behind the choice). The private interpreter compiles (helpers/compile_pycs.py),
keeping each module's code in the cache, so that a rebuild compiles only what changed.
"""
import json
from pathlib import Path

from ..errors import PyrpathError

HELPERS = Path(__file__).resolve().parent / "helpers"
MODE = "timestamp"


def compile_tree(python, libdir, final_libdir, epoch, cache_dir, log, opt_levels=(0,),
                 mode=MODE):
    """Compile every module under `libdir` (the staged lib/pythonX.Y) as `final_libdir`;
    return the helper's counts {"modules", "compiled", "cached", "failed": [names]}."""
    cmd = [python, "-I", "-S", HELPERS / "compile_pycs.py", libdir, final_libdir, str(epoch),
           mode, cache_dir if cache_dir is not None else "-", *map(str, opt_levels)]
    # PYTHONHASHSEED: set constants are marshalled in hash order; a fixed seed, the same bytes
    tail = log.run(cmd, "compile the bytecode",
                   env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"})
    try:
        return json.loads(tail[-1])
    except (IndexError, ValueError) as exc:
        raise PyrpathError("compiling the bytecode printed no summary: report this as a "
                           "dh-pyrpath bug", log=log.path) from exc


def describe(counts):
    """'1523 modules (88 compiled, 1435 from the cache)', and the ones that run from source."""
    text = (f"{counts['modules']} modules ({counts['compiled']} compiled, "
            f"{counts['cached']} from the cache)")
    failed = counts["failed"]
    if failed:
        shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        text += f"; {len(failed)} do not compile and run from source: {shown}"
    return text
