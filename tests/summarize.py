#!/usr/bin/env python3
"""Print one line "N passed, N failed" for a `meson test` run.

gtest executables write a JSON report per run (build/test-results/*.json):
their test cases are counted one by one. Every other meson test counts as one.
"""
import glob
import json
import os
import sys

build = sys.argv[1] if len(sys.argv) > 1 else 'build'
passed = failed = 0
gtest_names = set()
for path in glob.glob(os.path.join(build, 'test-results', '*.json')):
    name = os.path.basename(path)[:-len('.json')]
    try:
        report = json.load(open(path))
    except ValueError:
        continue  # a crashed gtest binary: meson's own entry below counts it as failed
    gtest_names.add(name)
    for suite in report.get('testsuites', []):
        for case in suite.get('testsuite', []):
            if case.get('result') == 'SKIPPED' or case.get('status') == 'NOTRUN':
                continue
            if case.get('failures'):
                failed += 1
            else:
                passed += 1

log = os.path.join(build, 'meson-logs', 'testlog.json')
if os.path.exists(log):
    for line in open(log):
        entry = json.loads(line)
        name = entry['name'].split(' / ')[-1]  # "project:suite / name"
        if name in gtest_names and entry['result'] in ('OK', 'FAIL'):
            continue  # counted case by case above (a FAIL shows as failed cases)
        if entry['result'] in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif entry['result'] != 'SKIP':
            failed += 1
print(f'{passed} passed, {failed} failed')
