#!/usr/bin/env python3
"""Instructions per request in each function V8 compiled, for scripts/wasm-profile.sh.

    wasm-profile.py REQUESTS LABEL:SHORT.callgrind:SHORT.map:LONG.callgrind:LONG.map ...

Each LABEL names one build; SHORT and LONG are runs of REQUESTS and 2 x REQUESTS
requests: a callgrind output written with --dump-instr=yes (a cost per instruction
address) and the perf map V8 wrote with --perf-basic-prof (one line per compiled
function: start address, size, name). A function's cost is the sum over the addresses
inside it; LONG minus SHORT, over REQUESTS, is its cost per request (reading the
configuration and the warm-up drop out). Code outside every mapped function (Node,
V8's runtime, libc) is one row, "(outside the module)".
"""

import bisect
import collections
import re
import sys

OUTSIDE = "(outside the module)"
ROWS = 40


def costs_by_address(path):
    """Self cost per instruction address; `calls=` lines' inclusive costs are skipped."""
    costs = collections.Counter()
    positions = 1
    address = 0
    skip_next = False
    with open(path, errors="replace") as lines:
        for line in lines:
            if line.startswith("positions:"):
                positions = len(line.split()) - 1
                continue
            if line.startswith("calls="):
                skip_next = True
                continue
            if not line or line[0] not in "0123456789+-*":
                continue
            fields = line.split()
            position = fields[0]
            if position.startswith("+"):
                address += int(position[1:], 0)
            elif position.startswith("-"):
                address -= int(position[1:], 0)
            elif position != "*":
                address = int(position, 0)
            if skip_next:
                skip_next = False
                continue
            if len(fields) > positions:
                costs[address] += int(fields[positions])
    return costs


def functions(path):
    """The perf map's functions, sorted by start address."""
    rows = []
    with open(path) as lines:
        for line in lines:
            start, size, name = line.rstrip("\n").split(" ", 2)
            rows.append((int(start, 16), int(size, 16), name))
    rows.sort()
    return rows


def identifiers(mangled):
    """The length-prefixed identifiers of a mangled symbol, in order."""
    parts, at = [], 0
    while at < len(mangled):
        digits = re.match(r"\d+", mangled[at:])
        if not digits:
            at += 1
            continue
        at += len(digits.group())
        length = int(digits.group())
        parts.append(mangled[at:at + length])
        at += length
    return parts


def readable(name):
    """A Rust symbol from the module's name section as a path, without V8's prefix and
    suffix and without the hash: `threescale_wasm_auth::flow::on_request`."""
    name = re.sub(r"^JS:", "", name)
    name = re.sub(r"-\d+-(turbofan|liftoff)$", "", name)
    if name.startswith("_ZN"):
        parts = [part for part in identifiers(name[3:]) if not re.fullmatch(r"h[0-9a-f]{16}", part)]
        name = "::".join(parts)
        for escape, text in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"),
                             ("$C$", ","), ("$LP$", "("), ("$RP$", ")"), ("..", "::"),
                             ("$u7b$", "{"), ("$u7d$", "}")):
            name = name.replace(escape, text)
    elif name.startswith("_R"):
        # v0 mangling: crate disambiguators (`Cs…_`) left out.
        name = "::".join(identifiers(re.sub(r"Cs[0-9A-Za-z]*_", "", name[2:])))
    return name


def per_function(callgrind, perf_map):
    rows = functions(perf_map)
    starts = [row[0] for row in rows]
    totals = collections.Counter()
    for address, cost in costs_by_address(callgrind).items():
        at = bisect.bisect_right(starts, address) - 1
        if at >= 0 and address < rows[at][0] + rows[at][1]:
            totals[readable(rows[at][2])] += cost
        else:
            totals[OUTSIDE] += cost
    return totals


def main():
    requests = int(sys.argv[1])
    labels, tables = [], []
    for spec in sys.argv[2:]:
        label, short_cg, short_map, long_cg, long_map = spec.split(":")
        short = per_function(short_cg, short_map)
        long = per_function(long_cg, long_map)
        labels.append(label)
        tables.append({name: (long[name] - short[name]) / requests for name in long | short})
    names = set().union(*tables) - {OUTSIDE}
    print("instructions per request, by function (self cost):")
    print("".join(f"{label:>10}" for label in labels) + "  function")
    for label, table in zip(labels, tables):
        module = sum(cost for name, cost in table.items() if name != OUTSIDE)
        print(f"   ({label}) in the module's functions: {module:,.0f}")
    ranked = sorted(names, key=lambda name: -max(table.get(name, 0) for table in tables))
    for name in ranked[:ROWS] + [OUTSIDE]:
        cells = "".join(f"{table.get(name, 0):>10,.0f}" for table in tables)
        print(f"{cells}  {name[:110]}")

if __name__ == "__main__":
    main()
