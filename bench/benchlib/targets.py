"""The targets block of the report (issue 25's targets): each target, what was measured
against it, met or not. Reported, never asserted: a missed target is a line in the report, not
a failure, and what was measured is shown whether it is met or not."""
from .text import table

DEFAULT_SPEED = 1.00    # default build, pybench geomean against Debian's python3.X
OPTIMIZE_SPEED = 1.05   # --optimize
STARTUP = 0.95          # console-script start-up against dh-virtualenv's, default build
WARM = 0.5              # warm rebuild (make-deb's defaults) against dh-virtualenv's default
INSTALL = 0.8           # `dpkg -i` against dh-virtualenv's package of the same project
COLD_MINUTES = 8        # cold build, interpreter included
INTERPRETER_MB = 15     # what the interpreter adds to the compressed .deb


def met(ok):
    return "met" if ok else "MISSED"


def per_project(pairs, fmt="{:.2f}x"):
    return ", ".join(f"{p} {fmt.format(r)}" for p, r in pairs)


def speed_rows(gm, args, python):
    if not gm:
        return []
    rows = [[f"default build speed >= {DEFAULT_SPEED:.2f}x {python} (pybench geomean)",
             f"{gm['pyrpath']:.3f}x", met(gm["pyrpath"] >= DEFAULT_SPEED)]]
    if "pyrpath-opt" in gm:
        rows.append([f"--optimize speed >= {OPTIMIZE_SPEED:.2f}x {python}",
                     f"{gm['pyrpath-opt']:.3f}x", met(gm["pyrpath-opt"] >= OPTIMIZE_SPEED)])
    else:
        why = "--skip-optimize" if args.skip_optimize else "its build comes next"
        rows.append([f"--optimize speed >= {OPTIMIZE_SPEED:.2f}x {python}",
                     f"not measured ({why})", "-"])
    return rows


def startup_row(t):
    if not t.get("startup"):
        return []
    measured = per_project(t["startup"])
    if t.get("startup_opt"):
        measured += f" (--optimize: {per_project(t['startup_opt'])})"
    return [[f"console start-up <= {STARTUP:.2f}x dh-virtualenv (default build)", measured,
             met(all(r <= STARTUP for _, r in t["startup"]))]]


def warm_row(t):
    if not t.get("warm"):
        return []
    return [[f"warm rebuild <= {WARM:.2f}x dh-virtualenv", per_project(t["warm"]),
             met(all(r <= WARM for _, r in t["warm"]))]]


def install_row(t):
    if not t.get("install"):
        return [[f"install on a target <= {INSTALL:.2f}x dh-virtualenv (`dpkg -i`)",
                 "not measured", "-"]]
    return [[f"install on a target <= {INSTALL:.2f}x dh-virtualenv (`dpkg -i`)",
             per_project(t["install"]), met(all(r <= INSTALL for _, r in t["install"]))]]


def cold_row(t):
    if not t.get("cold"):
        return []
    measured = ", ".join(f"{p} {s / 60:.1f} min ({profile or 'interpreter cached'})"
                         for p, s, profile in t["cold"])
    ok = all(s < COLD_MINUTES * 60 and profile for _, s, profile in t["cold"])
    return [[f"cold build, interpreter included, < {COLD_MINUTES} min", measured, met(ok)]]


def size_row(t):
    if not t.get("deb_diff"):
        return []
    parts = [f"{p} .deb minus dh-virtualenv's {d:+.2f} MB" for p, d in t["deb_diff"]]
    worst = max(d for _, d in t["deb_diff"])
    if t.get("interp_part"):
        parts.append("interpreter alone " + ", ".join(f"{s:.2f} MB" for _, s in
                                                      t["interp_part"][:1]))
        worst = max(worst, max(s for _, s in t["interp_part"]))
    return [[f"interpreter adds <= {INTERPRETER_MB} MB to the .deb", "; ".join(parts),
             met(worst <= INTERPRETER_MB)]]


def block(t, args, python):
    rows = (speed_rows(t.get("speed"), args, python) + startup_row(t) + warm_row(t)
            + install_row(t) + cold_row(t) + size_row(t))
    return ["== targets (reported, not asserted) =="] + table(["target", "measured", "status"],
                                                             rows)
