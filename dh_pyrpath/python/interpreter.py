"""The interpreter a package gets: taken from the store, or fetched from the remote cache, or
built (cpython.py, trim.py) and published there, under the key of its recipe (recipe.py).

The interpreter is built once per recipe at a fixed placeholder prefix, with DT_RPATH
$ORIGIN/../lib so the executable always loads the libpython beside it (DT_RPATH, unlike
DT_RUNPATH, wins over LD_LIBRARY_PATH). placement.py copies it to a package's staged prefix and
package/relocate.py moves it to its final one, which is why one cache entry serves every
package and prefix.
"""
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import host
from ..errors import PyrpathError
from ..package import relocate, verify
from ..store import entries
from ..store.files import discard, only_modes_changed, summarize
from . import cpython, recipe as recipelib, shlibs, sources, trim


@dataclass
class Interpreter:
    """A verified interpreter: `tree` is what goes under the prefix, `pip` an unpacked pip."""
    key: str
    version: str
    tree: Path
    pip: Path
    bundled: Path
    info: dict
    depends: str = ""  # its shared-library Depends (shlibs.py)

    @property
    def xy(self):
        return ".".join(self.version.split(".")[:2])


def build(source, rec, key, payload, jobs, log):
    """Compile CPython (cpython.py) in its fixed build directory, then trim and strip it there
    and move the result into payload/tree; keep pip for later use. Returns the entry's info."""
    with cpython.build_directory(key, log) as workdir:
        staged, version, patches, srcdir = cpython.compile_and_install(source, rec, workdir,
                                                                       jobs, log)
        xy = ".".join(version.split(".")[:2])
        with log.stage("trim", f"CPython {version}"):
            trim.set_aside_bundled(staged, xy, payload, rec["keep"])
            trim.trim(staged, xy, rec["keep"])
            if rec["strip"]:
                trim.strip_elf_files(staged, log)
            tree = payload / "tree"
            # the build directory is on /var/tmp, the cache elsewhere: copy, then drop
            shutil.copytree(staged, tree, symlinks=True)
            relocate.rewrite_text_files(tree, {str(srcdir): cpython.NEUTRAL_BUILD_DIR})
            relocate.rewrite_pycs(tree / "bin" / f"python{xy}", tree, {}, log)
        # CPython's make only warns about an extension module that failed to build or to
        # import; such an entry must not be cached (every package would lack the module).
        problems = verify.check_runtime(tree, xy, smoke=True)
        if problems:
            raise PyrpathError(f"CPython {version} was built, but {problems[0]}", log=log.path)
        (payload / shlibs.FILE).write_text(
            shlibs.interpreter_depends(tree, workdir, log, host.SYSTEM_PATH) + "\n")
    info = {"version": version, "source": source.label, "source_sha256": source.sha256,
            "debian_package": source.package, "debian_revision": source.revision,
            "debian_patches": patches,
            "configure": rec["configure"], "flags": rec["flags"], "profile": rec["profile"],
            "optimize": rec["profile"] == "optimize"}
    (payload / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))
    return info


def describe(interp):
    """What the stage line says: 'CPython 3.11.2 (Debian python3.11 3.11.2-6+deb12u8, 47
    upstream fixes; PGO+LTO)' -- the revision decides which security fixes a service has."""
    return describe_info(interp.version, interp.info)


def describe_info(version, info):
    """describe() of an entry's info.json."""
    build = {"pgo": "PGO+LTO", "optimize": "--optimize PGO+LTO", "plain": "no PGO"}.get(
        info.get("profile"), info.get("profile"))
    if info.get("debian_revision"):
        origin = (f"Debian {info['debian_package']} {info['debian_revision']}, "
                  f"{len(info.get('debian_patches') or [])} upstream fixes")
    else:
        origin = f"{info['source']}, no Debian fixes"
    return f"CPython {version} ({origin}; {build})"


def describe_entries(found):
    """How --cache-info names interpreter entries of the store ({entry: name}): key, CPython
    version, where it came from and its profile; and where two entries would read alike
    (3.11.2, one Debian revision), what sets them apart in their recipes: the -dev packages and
    tools of the host that built them, the compiler, the kept parts."""
    summaries = {entry: _summary(entry) for entry in found}
    alike = {}
    for entry, (text, _) in summaries.items():
        alike.setdefault(text, []).append(entry)
    names = {}
    for entry, (text, rec) in summaries.items():
        names[entry] = f"{entry.name} {text}"
        others = [summaries[e][1] for e in alike[text] if e != entry]
        if others and rec is not None:
            names[entry] += "; built with " + _differences(rec, others)
    return names


def _summary(entry):
    """(one line for the entry, its recipe or None)."""
    payload = Path(entry) / "payload"
    try:
        info = json.loads((payload / "info.json").read_text())
        text = describe_info(info["version"], info)
    except (OSError, ValueError, KeyError):
        return "(incomplete)", None
    try:
        return text, json.loads((payload / entries.KEY_DOCUMENT).read_text())
    except (OSError, ValueError):
        return text, None


def _flat(rec):
    """A recipe as {name: value}: each library and tool package on its own."""
    flat = {}
    for key, value in rec.items():
        if key == "toolchain" and isinstance(value, dict):
            for part, items in value.items():
                if isinstance(items, list):
                    flat.update(item.split("=", 1) for item in items if "=" in item)
                else:
                    flat[part] = str(items)
        else:
            flat[key] = json.dumps(value, sort_keys=True)
    return flat


def _differences(rec, others, most=6):
    """What `rec` has that one of `others` has not: 'libssl-dev=3.0.17-1~deb12u2, ...'."""
    mine = _flat(rec)
    theirs = [_flat(o) for o in others if o is not None]
    differ = sorted(k for k, v in mine.items() if any(t.get(k) != v for t in theirs))
    differ += sorted({k for t in theirs for k in t} - set(mine))
    shown = [f"{k}={mine[k]}" if k in mine else f"no {k}" for k in differ[:most]]
    more = len(differ) - most
    if not shown:
        return "the same recipe"
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _load(entry, key):
    payload = entry / "payload"
    info = json.loads((payload / "info.json").read_text())
    return Interpreter(key=key, version=info["version"], tree=payload / "tree",
                       pip=payload / "pip", bundled=payload / "bundled", info=info,
                       depends=(payload / shlibs.FILE).read_text().strip())


def plan(settings, build_opts, cache, workdir, log, source=None, facts=None):
    """(source, recipe, cache key) of the interpreter these settings ask for; `source` and its
    `facts` when the caller resolved them already (sources.resolve, sources.facts)."""
    source = source or sources.resolve(settings.python_source, settings.python_sha256, cache,
                                       workdir, log)
    facts = facts or sources.facts(source, cache)
    rec = recipelib.recipe(source, facts, recipelib.build_flags(log, build_opts.noopt),
                           settings.keep, recipelib.profile(settings.optimize, build_opts.noopt),
                           recipelib.toolchain(log, facts, settings.keep),
                           strip=not build_opts.nostrip)
    return source, rec, recipelib.cache_key(rec)


def ensure(settings, build_opts, cache, workdir, log, place, source, facts):
    """Get a verified interpreter for these settings from `source` (sources.resolve, with its
    `facts`), building it only on a cache miss, and hand it to `place` (which copies what it
    needs) while no one can prune or rebuild it."""
    source, rec, key = plan(settings, build_opts, cache, workdir, log, source, facts)
    jobs = build_opts.parallel or os.cpu_count() or 1
    if cache is None:
        payload = Path(workdir) / "interpreter" / "payload"
        if payload.exists():
            shutil.rmtree(payload.parent)
        payload.mkdir(parents=True)
        build(source, rec, key, payload, jobs, log)
        return place(_load(payload.parent, key))
    entry = cache.path("interpreters", key)
    with cache.lock(f"interpreter-{key}") as held:
        if entry.exists():
            problems = entries.entry_problems(entry)
            if not problems:
                log.say(f"interpreter: cached CPython {_load(entry, key).version} ({key})")
            else:
                hint = ("; only modes changed, as a chmod -R does: `dh_pyrpath --cache-share` "
                        "(docs/cache.md) makes a cache shared and keeps its entries"
                        if only_modes_changed(problems) else "")
                log.say(f"interpreter: cache entry {key} is damaged, in {entry}/payload: "
                        f"{summarize(problems)}: rebuilding it{hint}")
                discard(entry)
        if not entry.exists() and entries.fetch_interpreter(cache, key, log):
            log.say(f"interpreter: CPython {_load(entry, key).version} ({key}) from the remote "
                    "cache")
        if not entry.exists():
            # Holding the key's lock, any staging directory of this key is a dead build's
            # (killed before it could clean up): a CPython build tree, 100 MB or more.
            for dead in sorted(cache.path("tmp").glob(f"interpreter-{key}-*")):
                log.write(f"removing {dead}, left by an interrupted build")
                discard(dead)
            staging = cache.tempdir(f"interpreter-{key}-")
            try:
                (staging / "payload").mkdir()
                build(source, rec, key, staging / "payload", jobs, log)
                (staging / "payload" / entries.KEY_DOCUMENT).write_text(
                    json.dumps(rec, indent=1, sort_keys=True))
                entries.write_manifest(staging, staging / "payload")
                cache.publish(staging, entry)
            except BaseException:
                discard(staging)
                raise
        entries.touch_last_used(entry)
        held.share()
        # what was just built, and a local hit the remote lacks (one request when it has it)
        entries.offer_interpreter(cache, key, log)
        return place(_load(entry, key))
