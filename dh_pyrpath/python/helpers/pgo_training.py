"""The profile-guided optimisation workload: what services do, the same way on every run.

Run by the instrumented interpreter in CPython's build directory (interpreter.py). GCC's
profile counts decide the optimised code, so the run must be identical from one build to the
next, in another directory, on another machine. Hence: one thread; no clocks, no random seeds
but fixed ones, no temporary file names, no environment, no object ids or addresses in
anything that is hashed, sorted or printed (cpython.py adds PYTHONHASHSEED=0, an empty
environment, no ASLR and a fixed stack limit; steady_host() below fixes what the machine says
about itself); every loop runs a fixed number of times. The amount of work is set by
the rounds (argv[1]): enough for every hot path to count, short enough for a cold build.

It covers: imports, json, re, str/bytes, dict/set, classes and dataclasses, exceptions,
generators, datetime, decimal, fractions, hashlib, hmac, base64, zlib, struct, pickle,
asyncio, xml, csv, email, urllib.parse, ipaddress, logging, textwrap and string formatting.
Not sqlite3 beyond its import: SQLite seeds its own generator from /dev/urandom on first use,
and with queries in it the training gave one of two profiles at random (measured in a build
chroot: about half of 14 runs gave the other one; without them, 7 runs in two chroots gave the
same profile).
"""
import os
import sys


def steady_host():
    """What the machine says about itself stops reaching the counts.

    Object addresses reach the counts (pickle's and marshal's memo tables, sets of types, the
    method cache: all hash pointers), so every allocation before them must be the same size on
    every machine. Two inputs varied them (measured, one instrumented build trained in turns):
    the host name and kernel strings (uuid imports platform, which asks os.uname: another
    host name changed 10 profile files) and the process and thread ids (below). Directories
    list sorted from here on: the import system's caches are sets built from the listing, and
    ext4 lists by a hash seeded per file system, tmpfs by age. (What start-up imported before
    this runs still saw the file system's order and its stat values: the build directory's
    file system is the one input left, docs/how-it-works.md.)
    """
    import importlib
    import posix
    # not os.uname() itself: its strings are allocations of the host's lengths (measured)
    machine = getattr(sys.implementation, "_multiarch", "unknown").split("-")[0]
    fixed = os.uname_result(("Linux", "localhost", "6.1.0", "#1 SMP", machine))
    os.uname = posix.uname = lambda: fixed
    # A process or thread id is a new int object or, in a fresh PID namespace (sbuild's unshare
    # backend), a cached small one: logging asks for the first in every record, threading for
    # the second (measured: a PID namespace changed 6 profile files).
    import _thread
    os.getpid = posix.getpid = lambda: 4242
    _thread.get_native_id = lambda: 4243
    listdir = posix.listdir

    def sorted_listdir(path="."):
        return sorted(listdir(path))
    os.listdir = posix.listdir = sorted_listdir
    importlib.invalidate_caches()  # the caches filled at start-up are filled again, sorted


# the start-up of a service: a wide import graph, compiled from source each run
MODULES = ("argparse", "ast", "asyncio", "base64", "bisect", "calendar", "collections",
           "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
           "email.message", "email.parser", "enum", "fractions", "functools", "hashlib", "heapq",
           "hmac", "html", "http.client", "inspect", "io", "ipaddress", "itertools", "json",
           "logging", "operator", "pathlib", "pickle", "pprint", "re", "shlex", "socket",
           "sqlite3", "statistics", "string", "struct", "textwrap", "tokenize", "typing",
           "unicodedata", "urllib.parse", "uuid", "xml.etree.ElementTree", "zlib")


def imports():
    import importlib
    for name in MODULES:
        importlib.import_module(name)
    return len(MODULES)


def objects(n):
    from dataclasses import dataclass, field

    @dataclass(order=True)
    class Order:
        key: int
        name: str
        tags: list = field(default_factory=list)

        @property
        def label(self):
            return f"{self.name}-{self.key:05d}"

    class Base:
        __slots__ = ("value",)

        def __init__(self, value):
            self.value = value

        def compute(self):
            return self.value

    class Child(Base):
        __slots__ = ()

        def compute(self):
            return super().compute() * 2 + 1

    orders = [Order(i * 7919 % 1009, f"item{i}", [str(i % 5)]) for i in range(n)]
    orders.sort()
    total = sum(Child(o.key).compute() for o in orders)
    labels = {o.label: o for o in orders}
    counts = {}
    for o in orders:
        for t in o.tags:
            counts[t] = counts.get(t, 0) + 1
    seen = set()
    for o in orders:
        seen.add(o.key % 97)
    seen |= frozenset(range(50))
    seen -= {1, 2, 3}
    return total + len(labels) + sum(counts.values()) + len(seen)


def errors(n):
    class AppError(Exception):
        pass

    caught = 0
    for i in range(n):
        try:
            try:
                if i % 3 == 0:
                    raise KeyError(i)
                if i % 3 == 1:
                    {}["missing"]
                raise AppError("bad", i)
            except KeyError as exc:
                raise AppError("wrapped") from exc
        except AppError as exc:
            caught += len(exc.args)
        finally:
            caught += 1
    return caught


def generators(n):
    import itertools

    def gen(k):
        for i in range(k):
            if i % 7:
                yield i * i

    squares = list(gen(n))
    pairs = list(itertools.islice(itertools.combinations(range(40), 2), n))
    grouped = {k: len(list(g)) for k, g in itertools.groupby(sorted(squares, key=lambda x: x % 10),
                                                               key=lambda x: x % 10)}
    return sum(squares) + len(pairs) + sum(grouped.values()) + sum(x for x in range(n) if x & 1)


def text(n):
    import re
    import string
    import textwrap
    import unicodedata

    words = [f"word{i}" for i in range(200)]
    doc = " ".join(words) * 3
    pattern = re.compile(r"(?P<name>[a-z]+)(?P<num>\d+)")
    found = [m.group("name") + m.group("num") for m in pattern.finditer(doc)]
    subs = re.sub(r"\d+", lambda m: str(int(m.group()) * 2), doc)
    emails = re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", "a@b.org, c.d+e@f-g.example.com x@y " * 20)
    parts = doc.split(" ")
    joined = ",".join(p.upper() for p in parts[:500]).lower().replace("word", "w")
    fmt = "".join(f"{i:>5}|{i / 7:.3f}|{i:x}|{'%s-%d' % ('n', i)}" for i in range(n))
    tmpl = string.Template("$who likes $what").substitute(who="svc", what="json")
    wrapped = textwrap.fill(doc[:2000], width=60)
    uni = "".join(unicodedata.normalize("NFC", "e\u0301" + chr(0x400 + i % 200)) for i in range(n))
    data = doc.encode("utf-8")
    back = data.decode("utf-8")
    latin = "caf\xe9".encode("latin-1").decode("latin-1")
    return (len(found) + len(subs) + len(emails) + len(joined) + len(fmt) + len(tmpl)
            + len(wrapped) + len(uni.encode("utf-8")) + len(back) + len(latin)
            + data.count(b"word") + bytes(range(256)).find(b"\x80"))


def serialisation(n):
    """json, pickle, struct, zlib, base64: payloads of a few hundred records."""
    import base64
    import json
    import pickle
    import struct
    import zlib

    record = {"id": 1, "name": "service", "tags": ["a", "b", "c"], "ratio": 0.25,
              "nested": {"ok": True, "none": None, "list": list(range(20))}}
    records = [dict(record, id=i, name=f"svc-{i}") for i in range(n)]
    text = json.dumps(records, sort_keys=True)
    again = json.loads(text)
    pretty = json.dumps(again[:20], indent=2)
    blob = pickle.dumps(records, protocol=5)
    unpickled = pickle.loads(blob)
    packed = b"".join(struct.pack("<iHd", i, i % 65535, i / 3) for i in range(n))
    fields = [struct.unpack_from("<iHd", packed, i * 14) for i in range(n)]
    squeezed = zlib.compress(text.encode(), 6)
    b64 = base64.b64encode(squeezed)
    return (len(again) + len(pretty) + len(unpickled) + len(fields)
            + len(zlib.decompress(base64.b64decode(b64))))


def numbers(n):
    import decimal
    import fractions
    import math
    import statistics

    ctx = decimal.Context(prec=28)
    total = decimal.Decimal(0)
    for i in range(1, n):
        total = ctx.add(total, ctx.divide(decimal.Decimal(i), decimal.Decimal(7)))
    money = sum((decimal.Decimal("19.99") * i).quantize(decimal.Decimal("0.01"))
                for i in range(n))
    frac = sum(fractions.Fraction(1, i) for i in range(1, 60))
    floats = [math.sin(i) * math.sqrt(i) for i in range(n)]
    ints = [i ** 5 // 3 % 1000003 for i in range(n)]
    big = math.factorial(200) // math.factorial(150)
    return (int(total) + int(money) + frac.numerator % 1000 + int(statistics.fmean(floats))
            + sum(ints) % 1000 + big % 97)


def dates(n):
    import calendar
    import datetime

    start = datetime.datetime(2024, 1, 1, 12, 30, tzinfo=datetime.timezone.utc)
    stamps = [start + datetime.timedelta(hours=7 * i, seconds=i) for i in range(n)]
    iso = [s.isoformat() for s in stamps]
    parsed = [datetime.datetime.fromisoformat(s) for s in iso]
    fmt = [p.strftime("%Y-%m-%d %H:%M:%S %a") for p in parsed]
    days = sum((p.date() - start.date()).days for p in parsed)
    weeks = calendar.monthcalendar(2024, 2)
    return len(fmt) + days + len(weeks)


def hashing(n):
    import hashlib
    import hmac
    import uuid

    data = b"payload" * 100
    digests = [hashlib.sha256(data + bytes([i % 256])).hexdigest() for i in range(n)]
    digests += [hashlib.md5(d.encode()).hexdigest() for d in digests[:50]]
    digests += [hashlib.blake2b(data, digest_size=16).hexdigest()]
    mac = hmac.new(b"key", data, "sha256").hexdigest()
    ids = [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"host{i}")) for i in range(50)]
    return len(set(digests)) + len(mac) + len(ids)


def asynchronous(n):
    import asyncio

    async def worker(queue, results):
        while True:
            item = await queue.get()
            if item is None:
                queue.task_done()
                return
            await asyncio.sleep(0)
            results.append(item * 2)
            queue.task_done()

    async def main():
        queue = asyncio.Queue()
        results = []
        workers = [asyncio.ensure_future(worker(queue, results)) for _ in range(4)]
        for i in range(n):
            await queue.put(i)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        gathered = await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(50)))
        return sum(results) + sum(gathered)

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


class FixedClock:
    """What logging asks of the time module, at a fixed instant (msecs 625: a new int)."""
    NS = 1_700_000_000_625_000_000

    @classmethod
    def time(cls):
        return cls.NS / 1e9

    @classmethod
    def time_ns(cls):
        return cls.NS


def documents(n):
    import csv
    import email.parser
    import io
    import ipaddress
    import logging
    import urllib.parse
    import xml.etree.ElementTree as ET

    root = ET.Element("root")
    for i in range(n // 4):
        child = ET.SubElement(root, "item", id=str(i))
        child.text = f"value {i}"
    xml = ET.tostring(root)
    parsed = ET.fromstring(xml)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerows([[i, f"name{i}", i * 0.5] for i in range(n)])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    msg = email.parser.Parser().parsestr(
        "From: a@example.org\nTo: b@example.org\nSubject: hi\n\nbody line\n" * 1)
    urls = [urllib.parse.urlsplit(f"https://host{i}.example/path/{i}?q={i}&r=x#f")
            for i in range(n // 2)]
    query = urllib.parse.urlencode({"a": "b c", "d": "é"})
    nets = [ipaddress.ip_address(f"10.0.{i // 256}.{i % 256}") in
            ipaddress.ip_network("10.0.0.0/16") for i in range(n // 2)]
    # A log record reads the clock (msecs = int(fraction * 1000): a cached small int or a new
    # one, by the time of day; measured: 33 more int objects in one run than in another): the
    # records of this training are made at a fixed time.
    logging.time = FixedClock
    # relativeCreated is measured from the import's real time (a float up to 3.12, ns since)
    logging._startTime = (FixedClock.time_ns() if isinstance(logging._startTime, int)
                          else FixedClock.time())
    log = logging.getLogger("training")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for i in range(n // 4):
        log.info("request %d took %s", i, "fast")
    log.removeHandler(handler)
    return len(parsed) + len(rows) + len(msg["Subject"]) + len(urls) + len(query) + sum(nets)


# ---------------------------------------------------------------- kernels
# CPU-bound loops of the kinds real code spends its time in (the interpreter's hot paths must be
# counted as hot: what the training runs rarely is optimised for size). Written for this file,
# not taken from any benchmark.

REGEXES = (r"\b(\w+)@(\w+)\.(com|org|net)\b", r"^\s*(#|//).*$", r"(\d{1,3}\.){3}\d{1,3}",
           r"(?i)error|warn(ing)?|fail(ed|ure)?", r"\s+", r"[A-Z][a-z]+(?:[A-Z][a-z]+)*",
           r"(?P<key>[a-z_]+)=(?P<value>\"[^\"]*\"|\S+)", r"(\w)\1", r"^(GET|POST|PUT) (\S+)",
           r"(?<=\$)\d+(\.\d\d)?", r"colou?r", r"[^\x00-\x7f]", r"(a|b|c)*d+(?=e)",
           r"(?m)^\w+:", r"\d+(?!px)")
LINES = [f"user{i}@host{i % 7}.{('com', 'org', 'net')[i % 3]} 10.{i % 256}.0.{i % 200} "
         f"GET /item/{i} key_{i}=\"v {i}\" price $%d.%02d ERROR colour aad{i}de Ünï {i}px"
         % (i, i % 100) for i in range(60)]


def regexes(n):
    """Matching over a log-like text (the engine's time, as in services), compiling a little."""
    import re
    text = "\n".join(LINES * 3)
    total = 0
    compiled = [re.compile(p) for p in REGEXES]
    flagged = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in REGEXES[:6]]
    for _ in range(n):
        for rx in compiled + flagged:
            total += sum(m.end() - m.start() for m in rx.finditer(text))
            total += len(rx.findall(text))
            total += len(rx.sub(lambda m: m.group(0)[::-1], text[:4000]))
            total += len(rx.split(text[:4000]))
            total += sum(1 for line in LINES if rx.search(line) or rx.fullmatch(line))
    re.purge()
    total += len(re.compile(r"(?x) ( \d+ ) \s* (?: px | em )?").findall(text[:2000]))
    return total


def floats(n):
    import math
    bodies = [[float(i), float(i) * 0.5, -float(i) * 0.25, 0.01 * i, 0.02, -0.01 * i, 1.0 + i]
              for i in range(5)]
    dt = 0.01
    for _ in range(n):
        for i, a in enumerate(bodies):
            for b in bodies[i + 1:]:
                dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
                dist = math.sqrt(dx * dx + dy * dy + dz * dz) + 0.1
                mag = dt / (dist * dist * dist)
                a[3] -= dx * b[6] * mag
                a[4] -= dy * b[6] * mag
                a[5] -= dz * b[6] * mag
                b[3] += dx * a[6] * mag
                b[4] += dy * a[6] * mag
                b[5] += dz * a[6] * mag
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]
    points = [complex(math.cos(i / 7.0), math.sin(i / 5.0)) * (1 + i % 3) for i in range(n)]
    norm = sum(abs(p) for p in points) / len(points)
    matrix = [[1.0 / ((i + j) * (i + j + 1) / 2 + i + 1) for j in range(40)] for i in range(40)]
    vec = [1.0] * 40
    for _ in range(10):
        vec = [sum(row[j] * vec[j] for j in range(40)) for row in matrix]
        scale = max(vec)
        vec = [x / scale for x in vec]
    return int(sum(sum(b[:3]) for b in bodies) * 1000) % 997 + int(norm * 100) + int(vec[0] * 10)


def permutations(n):
    count = 0
    for size in range(5, n):
        perm, checksum, flips_max = list(range(size)), 0, 0
        counts = list(range(1, size + 1))
        for k in range(400):
            p = perm[:]
            flips = 0
            first = p[0]
            while first:
                p[:first + 1] = p[first::-1]
                flips += 1
                first = p[0]
            flips_max = max(flips_max, flips)
            checksum += flips if k % 2 == 0 else -flips
            i = 1
            while i < size:
                perm.insert(i, perm.pop(0))
                counts[i] -= 1
                if counts[i] > 0:
                    break
                counts[i] = i + 1
                i += 1
        count += checksum + flips_max
    queens = 0
    for cols in __import__("itertools").permutations(range(6)):
        if len({c + i for i, c in enumerate(cols)}) == 6 == len({c - i for i, c in enumerate(cols)}):
            queens += 1
    return count + queens


def scheduler(n):
    """Tasks, queues and packets: attribute access, method calls and branches on objects."""
    class Packet:
        __slots__ = ("link", "kind", "datum", "data")

        def __init__(self, link, kind):
            self.link, self.kind, self.datum, self.data = link, kind, 0, [0] * 4

        def append_to(self, queue):
            self.link = None
            if queue is None:
                return self
            p = queue
            while p.link is not None:
                p = p.link
            p.link = self
            return queue

    class Task:
        def __init__(self, ident, priority):
            self.ident, self.priority, self.queue, self.count = ident, priority, None, 0

        def run(self, packet):
            self.count += 1
            if packet is None:
                return self.ident % 2
            packet.datum = (packet.datum + self.count) % 26
            packet.data[packet.datum % 4] += 1
            self.queue = packet.append_to(self.queue)
            return packet.kind

    class Worker(Task):
        def run(self, packet):
            result = super().run(packet)
            return result * 2 if result else -1

    tasks = [(Worker if i % 3 else Task)(i, 10 - i) for i in range(10)]
    total = 0
    for step in range(n):
        task = tasks[step % len(tasks)]
        packet = Packet(None, step % 3) if step % 4 else None
        total += task.run(packet)
        if isinstance(task, Worker) and task.queue is not None and step % 5 == 0:
            task.queue = task.queue.link
    return total + sum(t.count for t in tasks)


def containers(n):
    import bisect
    import collections
    import functools
    import heapq
    dq = collections.deque(maxlen=100)
    counter = collections.Counter()
    tree = collections.defaultdict(list)
    Point = collections.namedtuple("Point", "x y")
    heap, ordered = [], []

    @functools.lru_cache(maxsize=64)
    def fib(k):
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    for i in range(n):
        dq.append(i)
        counter[i % 17] += 1
        tree[i % 13].append(Point(i, -i))
        heapq.heappush(heap, (i * 7919) % 1009)
        bisect.insort(ordered, (i * 31) % 997)
        a, b, *rest = (i, i + 1, i + 2, i + 3)
        t = tuple(x * 2 for x in rest)
        s = {i: i * i for i in range(i % 20)}
        s.update(enumerate(t))
        total = sum(s.values()) + a + b
    popped = [heapq.heappop(heap) for _ in range(len(heap) // 2)]
    bigint = 1
    for i in range(1, 300):
        bigint = bigint * i + (i << (i % 64))
    return (len(dq) + sum(counter.values()) + len(tree) + len(popped) + fib(60) % 1000
            + ordered[len(ordered) // 2] + total + bigint % 1000003
            + len(f"{bigint:,}") + int(str(bigint)[:6]))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    steady_host()
    checks = [imports()]
    for _ in range(rounds):
        checks += [objects(400), errors(400), generators(600), text(200), serialisation(150),
                   numbers(300), dates(150), hashing(100), asynchronous(200),
                   documents(200), regexes(1), floats(300), permutations(8), scheduler(3000),
                   containers(400)]
    # the result depends on nothing that varies between runs; print it so a change shows
    print(sum(checks) % 1000003)


if __name__ == "__main__":
    main()
