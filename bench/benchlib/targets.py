"""The targets block of the report: each target, what was measured against it, met or not.
Reported, never asserted: a missed target is a line in the report, not a failure."""

from .text import table


def met(ok):
    return "met" if ok else "MISSED"


def block(t, args, python):
    out = ["== targets (reported, not asserted) =="]
    rows = []
    if t.get("warm"):
        rows.append(["warm rebuild <= 0.75x dh-virtualenv",
                     ", ".join(f"{p} {r:.2f}x" for p, r in t["warm"]),
                     met(all(r <= 0.75 for _, r in t["warm"]))])
    if t.get("cold"):
        rows.append(["cold build without PGO < 6 min",
                     ", ".join(f"{p} {s / 60:.1f} min" for p, s in t["cold"]),
                     met(all(s < 360 for _, s in t["cold"]))])
    if t.get("deb_diff"):
        parts = [f"{p} .deb minus dh-virtualenv's {d:+.2f} MB" for p, d in t["deb_diff"]]
        worst = max(d for _, d in t["deb_diff"])
        if t.get("interp_part"):
            parts.append("interpreter alone " + ", ".join(f"{s:.2f} MB" for _, s in
                                                          t["interp_part"][:1]))
            worst = max(worst, max(s for _, s in t["interp_part"]))
        rows.append(["interpreter adds <= 15 MB to the .deb", "; ".join(parts),
                     met(worst <= 15)])
    if t.get("startup"):
        rows.append(["console start-up <= 1.1x dh-virtualenv",
                     ", ".join(f"{p} {r:.2f}x" for p, r in t["startup"]),
                     met(all(r <= 1.1 for _, r in t["startup"]))])
    if t.get("speed"):
        gm = t["speed"]
        default = f"default build {gm['pyrpath']:.3f}x"
        if "pyrpath-opt" in gm:
            rows.append([f"--optimize interpreter >= 0.98x {python} (geomean)",
                         f"--optimize {gm['pyrpath-opt']:.3f}x; {default}",
                         met(gm["pyrpath-opt"] >= 0.98)])
        else:
            why = "--skip-optimize" if args.skip_optimize else "its build comes next"
            rows.append([f"--optimize interpreter >= 0.98x {python} (geomean)",
                         f"not measured ({why}); {default}", "-"])
    out += table(["target", "measured", "status"], rows)
    return out
