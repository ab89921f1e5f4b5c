"""bench/'s unit tests (pure logic; nothing is built or installed):
/usr/bin/python3 -m pytest -q bench/tests"""
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # benchlib and pybench; dh_pyrpath
