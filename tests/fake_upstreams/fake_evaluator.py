#!/usr/bin/env python3
"""A fake of the old Python evaluator service, for shadow mode and fallback: `POST
/evaluator/evaluate` answers the bytes of one recorded answer (an oracle
`golden/*.response.json`), whatever the request, or with `--golden DIR` the recorded answer of
the request, optionally with one number altered.

Run: `python3 fake_evaluator.py --answer tests/fixtures/golden/py_eval_n010_default.response.json
--port 0`; it prints `LISTENING <port>` once it serves.
"""

import json
import os
import re
import sys

# No __pycache__ beside the sources: the fakes run from the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import Response, detail, json_response, method_not_allowed, not_found  # noqa: E402

HEALTH = {"healthy": True, "version": "1.0.0", "status": "OK", "checks": {}}

# The first `"total_score": <number>` of the answer: the best sequence's score.
TOTAL_SCORE = re.compile(rb'("total_score":\s*)(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)')

# What `alter: total_score` adds to that number.
ALTERATION = 0.25


def altered(answer):
    """`answer` with its first total_score raised by ALTERATION, every other byte kept."""
    match = TOTAL_SCORE.search(answer)
    if match is None:
        raise ValueError("the answer has no total_score to alter")
    number = repr(float(match.group(2)) + ALTERATION).encode("ascii")
    return answer[: match.start(2)] + number + answer[match.end(2):]


class FakeEvaluator(common.FakeService):
    name = "evaluator"
    # `alter`: `none` answers the file's bytes; `total_score` raises the first total_score.
    option_choices = {"alter": ("none", "total_score")}
    # The shadow tests check that the binary keeps its own credentials to itself.
    logged_headers = ("x-request-id", "content-type", "authorization", "cookie")

    @classmethod
    def add_arguments(cls, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--answer", metavar="FILE",
                            help="recorded answer whose bytes POST /evaluator/evaluate returns")
        source.add_argument("--golden", metavar="DIR",
                            help="a directory of NAME.request.json / NAME.response.json pairs: "
                                 "a request equal (as JSON) to a recorded one gets its answer, "
                                 "any other 404")

    def configure(self, args):
        self.answer = None
        self.pairs = []
        if args.answer is not None:
            with open(args.answer, "rb") as f:
                self.answer = f.read()
            return
        for name in sorted(os.listdir(args.golden)):
            if not name.endswith(".request.json"):
                continue
            stem = name[: -len(".request.json")]
            with open(os.path.join(args.golden, name), "rb") as f:
                request = json.loads(f.read())
            with open(os.path.join(args.golden, stem + ".response.json"), "rb") as f:
                self.pairs.append((request, f.read()))

    def answer_for(self, body):
        if self.answer is not None:
            return self.answer
        for request, answer in self.pairs:
            if request == body:
                return answer
        return None

    def handle(self, req):
        if req.path in ("/health", "/evaluator/health"):
            if req.method != "GET":
                return method_not_allowed()
            return json_response(HEALTH)
        if req.path == "/evaluator/evaluate":
            if req.method != "POST":
                return method_not_allowed()
            body = self.answer_for(req.body)
            if body is None:
                return detail(404, "no recorded answer for this request")
            if self.state.option("alter") == "total_score":
                body = altered(body)
            return Response(raw=body)
        return not_found()


if __name__ == "__main__":
    common.main(FakeEvaluator, __doc__.splitlines()[0])
