"""The profile-guided optimisation workload: what services do, the same way on every run.

Run by the instrumented interpreter in CPython's build directory (interpreter.py). GCC's
profile counts decide the optimised code, so the run must be identical from one build to the
next, in another directory, on another machine. Hence: one thread; no clocks, no random seeds
but fixed ones, no temporary file names, no environment, no object ids or addresses in
anything that is hashed, sorted or printed (interpreter.py adds PYTHONHASHSEED=0, an empty
environment and no ASLR); every loop runs a fixed number of times. The amount of work is set by
ROUNDS: enough for every hot path to count, short enough for a cold build.

It covers: imports, json, re, str/bytes, dict/set, classes and dataclasses, exceptions,
generators, datetime, decimal, fractions, hashlib, hmac, base64, zlib, struct, pickle, sqlite3,
asyncio, xml, csv, email, urllib.parse, ipaddress, logging, textwrap and string formatting.
"""
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40


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


def database(n):
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.execute("create table item (id integer primary key, name text, price real)")
    con.executemany("insert into item (name, price) values (?, ?)",
                    [(f"item{i}", i * 1.5) for i in range(n)])
    rows = con.execute("select name, price from item where price > ? order by price desc",
                       (10,)).fetchall()
    total = con.execute("select count(*), sum(price) from item").fetchone()
    con.execute("update item set price = price * 2 where id % 3 = 0")
    con.commit()
    con.close()
    return len(rows) + int(total[1])


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
    log = logging.getLogger("training")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for i in range(n // 4):
        log.info("request %d took %s", i, "fast")
    log.removeHandler(handler)
    return len(parsed) + len(rows) + len(msg["Subject"]) + len(urls) + len(query) + sum(nets)


def main():
    checks = [imports()]
    for _ in range(ROUNDS):
        checks += [objects(400), errors(400), generators(600), text(200), serialisation(150),
                   numbers(300), dates(150), hashing(100), database(300), asynchronous(200),
                   documents(200)]
    # the result depends on nothing that varies between runs; print it so a change shows
    print(sum(checks) % 1000003)


if __name__ == "__main__":
    main()
