#!/usr/bin/env python3
"""Derive scenarios/data/departures_east_2001-06-29.csv from real flight records.

Source: the npm package `vega-datasets` 3.2.1 (BSD-3-Clause), file data/flights-3m.parquet:
3,000,000 U.S. domestic flights of January-June 2001 from the Bureau of Transportation
Statistics' On-Time Performance reports (a U.S. federal statistical agency; see
scenarios/data/README.md for the licence and attribution). Its `date` column is each
flight's *actual* departure time (scheduled time + departure delay, cancelled flights left
out), to the minute, in the local time of the origin airport.

What this script writes: for one day (29 June 2001, the busiest day in the file) and the
airports in states that lie wholly in the Eastern time zone (so every time is on one clock,
EDT), the number of departures in each minute of the day, as a rate series
`time,rate` (time: seconds after local midnight; rate: departures per second in that
minute = count / 60). Minute-resolution timestamps cannot honestly be replayed as a trace
(where in the minute each departure fell is unknown), so the series is meant for
`arrivals = "rates"`: a non-homogeneous Poisson process that follows the real per-minute
counts.

Usage (needs node/npm and python3 with venv; downloads ~23 MB into a temporary folder):

    python3 scripts/derive_departures.py            # writes the file
    python3 scripts/derive_departures.py --check    # verifies the committed file is the derivation

The inputs are pinned by SHA-256, so the output is byte-for-byte reproducible.
"""

import argparse
import collections
import datetime as dt
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "vega-datasets@3.2.1"
TARBALL = "vega-datasets-3.2.1.tgz"
SHA256 = {
    "package/data/flights-3m.parquet": "dbeb920c90f59b6ccaff823dcc3d08f25a97fa1ce128d93f40be4e931f5900b0",
    "package/data/airports.csv": "903c7169e6d558eefb95295fe2947ec8503135fbb855ea5c737cf4a90ea603ad",
}
PYARROW = "pyarrow==26.0.1"
DAY = dt.date(2001, 6, 29)
# States (and DC) wholly in the Eastern time zone, which all kept daylight saving time in
# 2001. Left out: FL, IN, KY, MI, TN (split between zones, or, for most of IN, no DST).
EASTERN = set(
    "CT DE DC GA ME MD MA NH NJ NY NC OH PA RI SC VT VA WV".split()
)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "scenarios", "data", "departures_east_2001-06-29.csv"))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(tmp):
    """npm pack the package, unpack it, check the two files; returns the folder."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    with tarfile.open(os.path.join(tmp, TARBALL)) as t:
        for name in SHA256:
            t.extract(name, tmp, filter="data")
    for name, want in SHA256.items():
        got = sha256(os.path.join(tmp, name))
        if got != want:
            sys.exit(f"{name}: SHA-256 {got}, expected {want}")
    return os.path.join(tmp, "package", "data")


def pyarrow_python(tmp):
    """A python with pyarrow: this one if it has it, else a venv in `tmp`."""
    try:
        import pyarrow  # noqa: F401
        return sys.executable
    except ImportError:
        venv = os.path.join(tmp, "venv")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        py = os.path.join(venv, "bin", "python")
        subprocess.run([py, "-m", "pip", "install", "-q", PYARROW], check=True)
        return py


def derive(data):
    """The rate series as text, from the unpacked data folder."""
    import csv
    import pyarrow.parquet as pq

    with open(os.path.join(data, "airports.csv"), newline="", encoding="utf-8") as f:
        state = {r["iata"]: r["state"] for r in csv.DictReader(f)}
    table = pq.read_table(os.path.join(data, "flights-3m.parquet"), columns=["date", "origin"])
    per_minute = collections.Counter()
    airports = set()
    for when, origin in zip(table.column("date").to_pylist(), table.column("origin").to_pylist()):
        if when.date() == DAY and state.get(origin) in EASTERN:
            per_minute[when.hour * 60 + when.minute] += 1
            airports.add(origin)
    lines = ["time,rate"]
    for m in range(24 * 60):
        # Shortest decimal text of count / 60 (repr of a Python float round-trips).
        lines.append(f"{m * 60},{repr(per_minute[m] / 60)}")
    total = sum(per_minute.values())
    return "\n".join(lines) + "\n", total, len(airports)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="verify the committed file instead of writing it")
    ap.add_argument("--inner", metavar="DATA", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        text, total, airports = derive(args.inner)
        sys.stdout.write(text)
        print(f"{total} departures from {airports} airports", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = fetch(tmp)
        py = pyarrow_python(tmp)
        text = subprocess.run([py, os.path.abspath(__file__), "--inner", data],
                              check=True, stdout=subprocess.PIPE, text=True).stdout
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} differs from the derivation")
        print(f"{OUT}: matches")
        return
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
