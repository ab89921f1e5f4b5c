"""CPU-bound micro benchmarks for comparing two CPython builds (pure Python loops).

Run by the interpreter under test:  python3.X -I pybench.py [--scale F] [--only NAME,...]
Prints one JSON object {name: seconds} for one pass over the benchmarks asked for. bench/run
(bench/benchlib/speed.py) runs one benchmark per process, every interpreter back to back in
rounds, and compares within rounds. Standard library only; every benchmark checks its own
result, so a broken interpreter cannot look fast.
"""
import json
import math
import re
import sys
import time

# ----------------------------------------------------------------------------- nbody
# The classic n-body simulation (from the Computer Language Benchmarks Game / pyperformance).
PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


def _bodies():
    return [
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS),
        ([4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
         [1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
          -6.90460016972063023e-05 * DAYS_PER_YEAR], 9.54791938424326609e-04 * SOLAR_MASS),
        ([8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
         [-2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
          2.30417297573763929e-05 * DAYS_PER_YEAR], 2.85885980666130812e-04 * SOLAR_MASS),
        ([1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
         [2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
          -2.96589568540237556e-05 * DAYS_PER_YEAR], 4.36624404335156298e-05 * SOLAR_MASS),
        ([1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
         [2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
          -9.51592254519715870e-05 * DAYS_PER_YEAR], 5.15138902046611451e-05 * SOLAR_MASS),
    ]


def _energy(bodies, pairs):
    e = 0.0
    for ((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2) in pairs:
        e -= (m1 * m2) / ((x1 - x2) ** 2 + (y1 - y2) ** 2 + (z1 - z2) ** 2) ** 0.5
    for (r, [vx, vy, vz], m) in bodies:
        e += m * (vx * vx + vy * vy + vz * vz) / 2.0
    return e


def bench_nbody(scale):
    bodies = _bodies()
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    px = py = pz = 0.0
    for (r, [vx, vy, vz], m) in bodies:
        px -= vx * m
        py -= vy * m
        pz -= vz * m
    v = bodies[0][1]
    v[0], v[1], v[2] = px / SOLAR_MASS, py / SOLAR_MASS, pz / SOLAR_MASS
    before = _energy(bodies, pairs)
    dt = 0.01
    for _ in range(int(50000 * scale)):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m, b2m = m1 * mag, m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz
    after = _energy(bodies, pairs)
    assert abs(before - -0.169075164) < 1e-6 and abs(after - before) < 1e-4, (before, after)


# ----------------------------------------------------------------------------- fannkuch
def _fannkuch(n):
    count = list(range(1, n + 1))
    max_flips = 0
    m = n - 1
    r = n
    check = 0
    perm1 = list(range(n))
    perm = list(range(n))
    perm1_ins = perm1.insert
    perm1_pop = perm1.pop
    while True:
        if check < 30:
            check += 1
        while r != 1:
            count[r - 1] = r
            r -= 1
        if perm1[0] != 0 and perm1[m] != m:
            perm = perm1[:]
            flips = 0
            k = perm[0]
            while k:
                perm[:k + 1] = perm[k::-1]
                flips += 1
                k = perm[0]
            if flips > max_flips:
                max_flips = flips
        while r != n:
            perm1_ins(r, perm1_pop(0))
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        else:
            return max_flips


def bench_fannkuch(scale):
    for _ in range(max(1, int(round(6 * scale)))):
        assert _fannkuch(8) == 22


# ----------------------------------------------------------------------------- json
def bench_json(scale):
    doc = {
        "id": 12345, "name": "widget \u00e9\u4e2d", "tags": ["a", "b", "c"] * 3,
        "price": 19.99, "active": True, "parent": None,
        "items": [{"sku": f"SKU-{i:05d}", "qty": i, "weight": i * 0.25,
                   "dims": [i, i + 1, i + 2], "note": "line\nbreak \"quoted\""}
                  for i in range(40)],
    }
    total = 0
    for _ in range(int(600 * scale)):
        text = json.dumps(doc)
        back = json.loads(text)
        total += len(back["items"])
        text = json.dumps(doc, indent=1, sort_keys=True)
        total += len(json.loads(text)["tags"])
    assert total == int(600 * scale) * 49


# ----------------------------------------------------------------------------- regex
_WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
          "rho sigma tau upsilon phi chi psi omega").split()
_TEXT = "\n".join(
    f"2026-11-{1 + i % 28:02d} 10:{i % 60:02d}:{(i * 7) % 60:02d} host{i % 13}.example.org "
    f"GET /api/v1/{_WORDS[i % len(_WORDS)]}/{i} HTTP/1.1 {200 + (i % 5) * 100} {i * 37 % 9000} "
    f"user{i % 97}@mail{i % 5}.example.com {_WORDS[(i * 3) % len(_WORDS)]}"
    for i in range(2000))


def bench_regex(scale):
    line = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d:\d\d:\d\d) (\S+) (GET|POST) (\S+) "
                      r"HTTP/1\.1 (\d{3}) (\d+)", re.M)
    email = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
    word = re.compile(r"\b(?:alpha|delta|omega|sigma)\b", re.I)
    n = 0
    for _ in range(int(16 * scale)):
        n += sum(1 for m in line.finditer(_TEXT) if m.group(8) != "500")
        n += len(email.findall(_TEXT))
        n += len(word.sub(lambda m: m.group(0).upper(), _TEXT))
        n += len(re.split(r"\s+", _TEXT[:20000]))
    assert n > 0


# ----------------------------------------------------------------------------- float
class _Point:
    __slots__ = ("x", "y", "z")

    def __init__(self, i):
        self.x = x = math.sin(i)
        self.y = math.cos(i) * 3
        self.z = (x * x) / 2

    def normalize(self):
        norm = math.sqrt(self.x * self.x + self.y * self.y + self.z * self.z)
        self.x /= norm
        self.y /= norm
        self.z /= norm

    def maximize(self, other):
        self.x = self.x if self.x > other.x else other.x
        self.y = self.y if self.y > other.y else other.y
        self.z = self.z if self.z > other.z else other.z
        return self


def bench_float(scale):
    for _ in range(int(4 * scale)):
        points = [_Point(i) for i in range(50000)]
        for p in points:
            p.normalize()
        best = points[0]
        for p in points[1:]:
            best = best.maximize(p)
        assert 0.0 < best.x <= 1.0


# ----------------------------------------------------------------------------- richards
# A richards-like task scheduler: tasks of four kinds pass packets around through a
# scheduler queue; lots of attribute access, method dispatch and small-object churn.
class _Packet:
    __slots__ = ("link", "ident", "kind", "count", "data")

    def __init__(self, link, ident, kind):
        self.link = link
        self.ident = ident
        self.kind = kind
        self.count = 0
        self.data = [0] * 4

    def append_to(self, head):
        self.link = None
        if head is None:
            return self
        p = head
        while p.link is not None:
            p = p.link
        p.link = self
        return head


class _Task:
    def __init__(self, sched, ident, priority, queue):
        self.sched = sched
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.held = False
        self.waiting = queue is None

    def runnable(self):
        return not self.held and (self.queue is not None or not self.waiting)

    def take(self):
        pkt = self.queue
        if pkt is not None:
            self.queue = pkt.link
        return pkt

    def deliver(self, pkt):
        self.queue = pkt.append_to(self.queue)
        self.waiting = False


class _Idle(_Task):
    def step(self):
        self.count = getattr(self, "count", 0) + 1
        self.seed = getattr(self, "seed", 1)
        if self.count > self.sched.limit:
            self.held = True
            return
        if self.seed & 1:
            self.seed = (self.seed >> 1) ^ 0xD008
            self.sched.release(7)
        else:
            self.seed >>= 1
            self.sched.release(6)


class _Worker(_Task):
    dest = 4

    def step(self):
        pkt = self.take()
        if pkt is None:
            self.waiting = True
            return
        self.dest = 5 if self.dest == 4 else 4
        pkt.ident = self.dest
        pkt.count = 0
        for i in range(4):
            pkt.count = pkt.count % 26 + 1
            pkt.data[i] = pkt.count
        self.sched.send(pkt)


class _Handler(_Task):
    def step(self):
        pkt = self.take()
        if pkt is None:
            self.waiting = True
            return
        pkt.data[0] += 1
        pkt.ident = 6 if self.ident == 4 else 7
        self.sched.send(pkt)


class _Device(_Task):
    def step(self):
        pkt = self.take()
        if pkt is None:
            self.waiting = True
            return
        self.sched.holds += 1
        pkt.ident = 2
        self.sched.send(pkt)
        self.held = True  # until the idle task releases this device again


class _Scheduler:
    def __init__(self, limit):
        self.limit = limit
        self.holds = 0
        self.tasks = {}
        self.tasks[1] = _Idle(self, 1, 0, None)
        self.tasks[1].waiting = False
        work = None
        for _ in range(2):
            work = _Packet(work, 0, 1)
        self.tasks[2] = _Worker(self, 2, 1000, work)
        for ident in (3,):
            pkts = None
            for _ in range(3):
                pkts = _Packet(pkts, 5, 2)
            self.tasks[ident] = _Handler(self, ident, 2000, pkts)
        self.tasks[4] = _Handler(self, 4, 3000, None)
        self.tasks[5] = _Handler(self, 5, 3000, None)
        self.tasks[6] = _Device(self, 6, 4000, None)
        self.tasks[7] = _Device(self, 7, 5000, None)
        self.tasks[6].held = self.tasks[7].held = True
        self.order = sorted(self.tasks.values(), key=lambda t: -t.priority)

    def release(self, ident):
        self.tasks[ident].held = False

    def send(self, pkt):
        self.tasks[pkt.ident].deliver(pkt)

    def run(self):
        steps = 0
        while True:
            for task in self.order:
                if task.runnable():
                    task.step()
                    steps += 1
                    break
            else:
                return steps


def bench_richards(scale):
    for _ in range(max(1, int(round(6 * scale)))):
        sched = _Scheduler(10000)
        steps = sched.run()
        assert steps > 10000 and sched.holds > 0, (steps, sched.holds)


BENCHMARKS = {
    "nbody": bench_nbody,
    "fannkuch": bench_fannkuch,
    "json": bench_json,
    "regex": bench_regex,
    "float": bench_float,
    "richards": bench_richards,
}


def main(argv):
    scale = 1.0
    only = list(BENCHMARKS)
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--scale":
            scale = float(args.pop(0))
        elif arg == "--only":
            only = args.pop(0).split(",")
        else:
            raise SystemExit(f"pybench: unknown argument {arg}")
    times = {}
    for name in only:
        func = BENCHMARKS[name]
        start = time.perf_counter()
        func(scale)
        times[name] = time.perf_counter() - start
    print(json.dumps(times))


if __name__ == "__main__":
    main(sys.argv[1:])
