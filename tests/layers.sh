#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The layering of module/, as written in the top comment of module/main.c:
#
#  * Layers, bottom first: ...
#  *
#  *	layer 1: reply caps encode ...
#  *	layer 2: ...
#
# A "file" X is module/X.c and module/X.h together (not *.mod.c, not tests/).
# Checks:
#  1. every module/*.c and *.h is in exactly one layer;
#  2. X includes "Y.h" only if Y's layer <= X's;
#  3. no cycle among the files (X -> Y: X.c or X.h includes Y.h, or X.o
#     uses a symbol defined in Y.o);
#  4. X.o uses global symbols (T, D, B, R) of Y.o only if Y's layer <= X's.
#     From the objects the build leaves in module/ (make module, or the
#     sparse run of make check: run this after it). Without objects this
#     check is skipped with a note, or fails if KSMTP_LAYERS_REQUIRE_OBJS=1.
# Each violation prints as "layers: module/FILE:LINE: ...", then a summary.
#
# usage: tests/layers.sh [ROOT]     check ROOT/module (default: this repo)
#        tests/layers.sh --selftest run on fake trees, one per rule
# Exits 1 on any violation, 2 on bad usage. NM=... picks another nm.
set -uo pipefail
exec python3 - "$0" "$@" <<'PY'
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAYER_RE = re.compile(r'^ \*\s+layer\s+(\d+):(.*)$')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"')


def module_files(mod):
    """name -> ["X.c", "X.h"] (those that exist)."""
    files = {}
    for path in sorted(glob.glob(mod + '/*.[ch]')):
        base = os.path.basename(path)
        if not base.endswith('.mod.c'):
            files.setdefault(base[:-2], []).append(base)
    return files


def read_layers(mod, err):
    """name -> (layer, line of main.c), from main.c's top comment."""
    try:
        with open(mod + '/main.c') as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    layers, started, in_comment = {}, False, False
    for no, line in enumerate(lines, 1):
        if not in_comment:
            in_comment = line.startswith('/*')
            if in_comment and '*/' in line:
                break        # a one-line top comment: no block
            if in_comment:
                continue
            if line.strip() and not line.startswith('//'):
                break        # code before any comment: no top comment
            continue
        m = LAYER_RE.match(line)
        if not m:
            if started or '*/' in line:
                break
            continue
        started = True
        for name in m.group(2).split():
            if name in layers:
                err('main.c:%d' % no, '%s is listed twice (layer %d at line '
                    '%d, layer %s here)' % (name, *layers[name], m.group(1)))
            else:
                layers[name] = (int(m.group(1)), no)
    return layers


def first_line(path, word):
    try:
        with open(path) as f:
            for no, line in enumerate(f, 1):
                if re.search(r'\b%s\b' % re.escape(word), line):
                    return no
    except OSError:
        pass
    return None


def read_objects(mod, files, note):
    """The names X with an X.o (X.c must exist), and (X, symbol, kind, Y)
    for each global symbol of another Y.o (kind T, D, B or R) X.o uses."""
    nm = os.environ.get('NM', 'nm')
    defs, undefs = {}, {}
    for name in sorted(files):
        obj = '%s/%s.o' % (mod, name)
        if name + '.c' not in files[name] or not os.path.exists(obj):
            continue
        if os.path.getmtime(obj) < os.path.getmtime('%s/%s.c' % (mod, name)):
            note('module/%s.o is older than module/%s.c: rebuild '
                 '(make module) for an up-to-date call check' % (name, name))
        try:
            out = subprocess.run([nm, obj], capture_output=True, text=True)
        except OSError as e:
            out = subprocess.CompletedProcess(nm, 1, '', str(e))
        if out.returncode:
            note('%s failed on module/%s.o: %s' % (nm, name, out.stderr.strip()))
            continue
        undefs[name] = []
        for line in out.stdout.splitlines():
            f = line.split()
            if not f or 'kunit' in f[-1].lower():
                continue
            if len(f) == 2 and f[0] == 'U':
                undefs[name].append(f[1])
            elif len(f) == 3 and f[1] in 'TDBR':
                defs.setdefault(f[2], []).append((name, f[1]))
    uses = []
    for x in undefs:
        for sym in undefs[x]:
            for y, kind in defs.get(sym, []):
                if y != x:
                    uses.append((x, sym, kind, y))
    return undefs.keys(), uses


def cycles(graph):
    """For each edge on a cycle, one shortest cycle through it (deduped),
    started where the first edge has a source line."""
    found = set()
    for x in sorted(graph):
        for y in sorted(graph[x]):
            back, todo = {y: None}, [y]     # breadth first from y to x
            while todo and x not in back:
                n = todo.pop(0)
                for m in sorted(graph[n]):
                    if m not in back:
                        back[m] = n
                        todo.append(m)
            if x not in back:
                continue
            path, n = [], x
            while n is not None:
                path.insert(0, n)
                n = back[n]
            c = [x] + path      # x -> y -> ... -> x
            i = c.index(min(c[:-1]))
            found.add(tuple(c[i:-1] + c[:i + 1]))
    out = []
    for c in sorted(found, key=lambda c: (len(c), c)):
        why = [graph[a][b] for a, b in zip(c, c[1:])]
        i = next((i for i, w in enumerate(why) if ':' in w.split()[0]), 0)
        out.append((list(c[i:-1] + c[:i + 1]), why[i:] + why[:i]))
    return out


def check(root):
    mod = os.path.join(root, 'module')
    errors, notes, counts = [], [], {}

    def err(where, msg, kind='layers'):
        errors.append('layers: module/%s: %s' % (where, msg))
        counts[kind] = counts.get(kind, 0) + 1

    def note(msg):
        notes.append('layers: note: ' + msg)

    files = module_files(mod)
    layers = read_layers(mod, err)
    if not layers:
        err('main.c:1', 'no layer block (" *\\tlayer N: names...") in the '
            'top comment: checking cycles only')
    for name in sorted(layers):
        if name not in files:
            note('module/main.c:%d: %s is listed but there is no module/%s.c '
                 'or .h' % (layers[name][1], name, name))
    for name in sorted(files):
        if layers and name not in layers:
            for f in files[name]:
                err(f + ':1', '%s is in no layer: add it to the layer block '
                    'in module/main.c' % name, 'files')

    graph = {name: {} for name in files}    # X -> {Y: "why"}

    def upward(x, y):
        return x in layers and y in layers and layers[y][0] > layers[x][0]

    def layer(name):
        return layers[name][0]
    for x in sorted(files):
        for f in files[x]:
            with open('%s/%s' % (mod, f)) as src:
                for no, line in enumerate(src, 1):
                    m = INCLUDE_RE.match(line)
                    y = m and m.group(1)
                    if not y or y == x or y not in files:
                        continue
                    where = '%s:%d' % (f, no)
                    graph[x].setdefault(y, '%s includes %s.h' % (where, y))
                    if upward(x, y):
                        err(where, '%s (layer %d) includes %s.h (layer %d)'
                            % (x, layer(x), y, layer(y)), 'includes')

    built, uses = read_objects(mod, files, note)
    for name in sorted(files):
        if built and name + '.c' in files[name] and name not in built:
            note('module/%s.c has no %s.o: its calls are not checked'
                 % (name, name))
    if not built:
        if os.environ.get('KSMTP_LAYERS_REQUIRE_OBJS') == '1':
            err('*.o', 'no objects built (make module), and '
                'KSMTP_LAYERS_REQUIRE_OBJS=1', 'calls')
        else:
            note('no module/*.o built: call check skipped (make module '
                 'builds them; KSMTP_LAYERS_REQUIRE_OBJS=1 makes this fail)')
    for x, sym, kind, y in sorted(uses):
        no = first_line('%s/%s.c' % (mod, x), sym)
        where = '%s.c:%d' % (x, no) if no else '%s.o' % x
        what = 'calls %s()' % sym if kind == 'T' else 'uses %s' % sym
        graph[x].setdefault(y, '%s %s of %s.o' % (where, what, y))
        if upward(x, y):
            err(where, '%s (layer %d) %s of %s (layer %d)'
                % (x, layer(x), what, y, layer(y)), 'calls')

    for c, why in cycles(graph):
        err(why[0].split()[0], 'cycle: %s (%s)' % (' -> '.join(c),
            '; '.join(why)), 'cycles')

    for line in notes + errors:
        print(line)
    if errors:
        print('layers: %d violations (%s)' % (len(errors), ', '.join(
            '%s %d' % kv for kv in sorted(counts.items()))))
        return 1
    print('layers: clean (%d files in %d layers, %d objects)'
          % (len(files), len({v[0] for v in layers.values()}), len(built)))
    return 0


# --selftest: a clean fake tree, then one violation at a time.
CLEAN = {
    'main.c': '/*\n * Layers, bottom first:\n *\n *\tlayer 1: a b\n'
              ' *\tlayer 2: c\n *\tlayer 3: main\n */\n#include "c.h"\n'
              'int main_fn(void) { return c_fn(); }\n',
    'a.h': 'int a_fn(void);\n',
    'a.c': '#include "a.h"\nint a_fn(void) { return 1; }\n',
    'b.h': 'int b_fn(void);\n',
    'b.c': '#include "a.h"\n#include "b.h"\nint b_fn(void) { return a_fn(); }\n',
    'c.h': 'int c_fn(void);\n',
    'c.c': '#include "b.h"\n#include "c.h"\nint c_fn(void) { return b_fn(); }\n',
}
CASES = [   # name, changes to CLEAN, build objects, env, exit, expected text
    ('clean tree passes', {}, True, {}, 0, 'layers: clean (4 files in 3 layers, 4 objects)'),
    ('unlisted file', {'d.c': 'int d;\n'}, True, {}, 1,
     'module/d.c:1: d is in no layer'),
    ('upward include', {'a.c': '#include "a.h"\n#include "c.h"\nint a_fn(void) { return 1; }\n'},
     True, {}, 1, 'module/a.c:2: a (layer 1) includes c.h (layer 2)'),
    ('mutual include', {'a.h': '#include "b.h"\nint a_fn(void);\n'}, True, {}, 1,
     'module/a.h:1: cycle: a -> b -> a (a.h:1 includes b.h; b.c:1 includes a.h)'),
    ('upward call', {'a.c': 'int c_fn(void);\nint a_fn(void) { return c_fn(); }\n'},
     True, {}, 1, 'module/a.c:1: a (layer 1) calls c_fn() of c (layer 2)'),
    ('call cycle', {'a.c': 'int b_fn(void);\nint a_fn(void) { return b_fn(); }\n'},
     True, {}, 1, 'cycle: a -> b -> a (a.c:1 calls b_fn() of b.o; b.c:1 includes a.h)'),
    ('no objects: skipped', {}, False, {}, 0, 'call check skipped'),
    ('no objects: required', {}, False, {'KSMTP_LAYERS_REQUIRE_OBJS': '1'}, 1,
     'module/*.o: no objects built'),
    ('no layer block', {'main.c': '/* no layers */\nint main_fn(void) { return 0; }\n'},
     True, {}, 1, 'module/main.c:1: no layer block'),
    ('listed twice', {'main.c': CLEAN['main.c'].replace('layer 2: c', 'layer 2: c a')},
     True, {}, 1, 'module/main.c:5: a is listed twice'),
]


def selftest(script):
    passed = failed = 0
    for name, change, build, env, code, want in CASES:
        tmp = tempfile.mkdtemp(prefix='ksmtp-layers.')
        try:
            mod = os.path.join(tmp, 'module')
            os.mkdir(mod)
            for f, text in {**CLEAN, **change}.items():
                with open(os.path.join(mod, f), 'w') as out:
                    out.write(text)
            for c in glob.glob(mod + '/*.c') if build else []:
                subprocess.run(['gcc', '-c', '-o', c[:-2] + '.o', c], check=True)
            run = subprocess.run(['bash', script, tmp], capture_output=True,
                                 text=True, env={**os.environ, **env},
                                 stdin=subprocess.DEVNULL)
            ok = run.returncode == code and want in run.stdout
        except (OSError, subprocess.CalledProcessError) as e:
            ok, run = False, None
            print(e)
        finally:
            shutil.rmtree(tmp)
        if ok:
            passed += 1
        else:
            failed += 1
            print('layers selftest: FAIL %s: want exit %d and "%s", got:'
                  % (name, code, want))
            if run:
                print('exit %d\n%s%s' % (run.returncode, run.stdout, run.stderr))
    print('layers selftest: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


def main(script, args):
    if args == ['--selftest']:
        return selftest(script)
    if len(args) > 1 or (args and args[0].startswith('-')):
        print('usage: %s [ROOT] | --selftest' % script, file=sys.stderr)
        return 2
    root = args[0] if args else os.path.join(os.path.dirname(script), '..')
    if not os.path.isdir(os.path.join(root, 'module')):
        print('layers: %s/module: no such directory' % root, file=sys.stderr)
        return 2
    return check(root)


sys.exit(main(sys.argv[1], sys.argv[2:]))
PY
