"""Plain-text tables and the formats of times and ratios, shared by every report."""


def table(header, rows):
    cols = [header] + rows
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    fmt = lambda r: " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return [fmt(header), "-+-".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def fmt_s(sec):
    if sec is None:
        return "-"
    return f"{sec:.1f} s" if sec < 60 else f"{sec:.1f} s ({int(sec // 60)}m{sec % 60:04.1f}s)"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"
