# SPDX-License-Identifier: GPL-2.0
"""TAP for the Python selftests.  Each case is a function decorated with
@case("what it proves"); it runs at once, and an exception fails it without
stopping the others.  done() prints the plan and the results and exits."""
import sys

_results = []


def case(name):
    def run(fn):
        try:
            fn()
            _results.append((True, name, ""))
        except Exception as e:  # report, keep going
            _results.append((False, name, repr(e)))
        return fn
    return run


def done():
    print("TAP version 13")
    print(f"1..{len(_results)}")
    for i, (ok, name, why) in enumerate(_results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if why:
            print(f"# {why}")
    sys.exit(0 if all(ok for ok, _, _ in _results) else 1)
