#!/usr/bin/env python3
"""
Fails when the source files call or include each other in a circle.

An arrow runs from a.c to b.c when a.c calls a function or uses a variable
defined in b.c (read from the built objects with nm: what a.o needs that b.o
defines) or includes b.h, the header next to b.c.  A circle (a strongly
connected set of files) means that none of them can be read or changed
without the others.  The layering this keeps: the vCPU loop and the VM object
below every module (modules register hooks, vcpu_hooks.h), and src/vmi/ and
lib/ each a stack of files that only call down.

Usage: check_layering.py SOURCE_ROOT LIBRARY:DIR...  (DIR: the folder of the
library's sources, as meson names its objects: dir/a/b.c -> a_b.c.o).
Circles still known are listed in KNOWN with why; one that is gone must be
taken off the list, and any other fails the test.
"""
import collections
import os
import re
import subprocess
import sys

KNOWN = {
    frozenset({'src/api/handlers.c', 'src/api/lifecycle.c', 'src/api/server.c', 'src/vmm.c'}):
        'the REST API creates and boots VMs through vmm.c, which starts the API',
}


def sources(root, top):
    out = {}
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        for n in names:
            if n.endswith('.c'):
                rel = os.path.relpath(os.path.join(dirpath, n), root)
                obj = '_'.join(rel.split(os.sep)[1:]) + '.o'
                if obj in out:
                    sys.exit(f'check_layering: {rel} and {out[obj]} make the same object name')
                out[obj] = rel
    return out


def archive_symbols(path):
    """member object -> (defined, undefined) symbol sets."""
    res = subprocess.run(['nm', '-A', path], capture_output=True, text=True, check=True)
    syms = collections.defaultdict(lambda: (set(), set()))
    for line in res.stdout.splitlines():
        m = re.match(r'^[^:]*\.a:([^:]+\.o):\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$', line)
        if not m:
            continue
        member, kind, name = m.groups()
        member = os.path.basename(member)  # a thin archive names its members by path
        if kind == 'U':
            syms[member][1].add(name)
        elif kind in 'TDBRC':
            syms[member][0].add(name)
    return syms


def circles(edges, nodes):
    index, low, stack, on, found = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def main():
    root = sys.argv[1]
    defs, uses = {}, {}
    for arg in sys.argv[2:]:
        lib, top = arg.rsplit(':', 1)
        names = sources(root, top)
        for member, (d, u) in archive_symbols(lib).items():
            src = names.get(member)
            if not src:
                continue
            uses[src] = u
            for s in d:
                defs[s] = src
    if len(uses) < 20:
        sys.exit(f'check_layering: only {len(uses)} objects found; is the build complete?')
    edges = collections.defaultdict(set)
    for src, needed in uses.items():
        edges[src] |= {defs[s] for s in needed if s in defs and defs[s] != src}
        text = open(os.path.join(root, src), encoding='utf-8').read()
        for inc in re.findall(r'#include "([^"]+)\.h"', text):
            for base in (os.path.dirname(src), src.split('/')[0]):
                twin = os.path.normpath(os.path.join(base, inc + '.c'))
                if twin in uses and twin != src:
                    edges[src].add(twin)
                    break
    failed = False
    found = circles(edges, uses)
    for comp in found:
        if comp in KNOWN:
            print(f'known circle ({KNOWN[comp]}): {" ".join(sorted(comp))}')
            continue
        failed = True
        print(f'circle of {len(comp)} files: {" ".join(sorted(comp))}')
        for a in sorted(comp):
            for b in sorted(edges[a] & comp):
                why = sorted(s for s in uses[a] if defs.get(s) == b)[:4]
                print(f'  {a} -> {b}: {" ".join(why) or "includes its header"}')
    for comp in set(KNOWN) - set(found):
        failed = True
        print(f'gone, take it off KNOWN: {" ".join(sorted(comp))}')
    print(f'{len(uses)} files, {sum(len(e) for e in edges.values())} arrows, '
          f'{len(found)} circle(s)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
