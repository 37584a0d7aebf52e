#!/usr/bin/python3
"""Unit tests of bench_driver's bookkeeping: how runs alternate, how several
runs become one cell, how a step is judged clean, how a p99 is put against
the kernel floor and when a peer's latency is not compared. No process is
started: the runs are fakes handed to the driver's own functions."""

import pathlib
import sys
import types
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench_driver as driver  # noqa: E402


def fake_env(runs, fanout_floor="/bin/true"):
    return types.SimpleNamespace(runs=runs, fanout_floor=fanout_floor)


class RepeatedTest(unittest.TestCase):
    def test_kinds_alternate_and_the_order_rotates_every_round(self):
        order = []
        driver.repeated(fake_env(3), ["ours", "node", "floor"], lambda kind: order.append(kind) or {}, "t")
        self.assertEqual(order, ["ours", "node", "floor",
                                 "node", "floor", "ours",
                                 "floor", "ours", "node"])

    def test_a_failing_run_is_recorded_and_the_others_still_run(self):
        calls = iter([RuntimeError("port taken"), {"p99_ms": 5.0}])

        def run_one(kind):
            result = next(calls)
            if isinstance(result, Exception):
                raise result
            return result

        out = driver.repeated(fake_env(2), ["ours"], run_one, "t")
        self.assertEqual(out["ours"][0], {"error": "port taken"})
        self.assertEqual(out["ours"][1], {"p99_ms": 5.0})


class SummarizeTest(unittest.TestCase):
    def test_numbers_become_median_and_spread_over_good_runs(self):
        runs = [{"p99_ms": 9.0, "limited": False, "stop": None},
                {"error": "lost its port"},
                {"p99_ms": 3.0, "limited": True, "stop": None},
                {"p99_ms": 4.0, "limited": False, "stop": None}]
        s = driver.summarize(runs)
        self.assertEqual(s["runs"], 3)
        self.assertEqual(s["failed_runs"], 1)
        self.assertEqual(s["p99_ms"], {"median": 4.0, "min": 3.0, "max": 9.0, "runs": 3})
        self.assertIs(s["limited"], True)  # any run at the load generator's limit says so
        self.assertIsNone(s["stop"])

    def test_an_even_number_of_runs_takes_the_middle_two(self):
        self.assertEqual(driver.median([4, 1, 3, 2]), 2.5)

    def test_no_good_run_keeps_the_error(self):
        self.assertEqual(driver.summarize([{"error": "x"}]), {"error": "x"})


class DecideTest(unittest.TestCase):
    def test_a_step_is_clean_when_most_runs_are(self):
        s = driver.decide({}, [None, "seq gaps", None])
        self.assertIsNone(s["stop"])
        self.assertEqual(s["clean_runs"], "2/3")

    def test_a_step_stops_on_the_first_failed_runs_reason(self):
        s = driver.decide({}, ["p99 120.0 ms", None, "seq gaps"])
        self.assertEqual(s["stop"], "p99 120.0 ms")
        self.assertEqual(s["clean_runs"], "1/3")

    def test_half_is_not_most(self):
        self.assertFalse(driver.most([True, False]))


class WithFloorTest(unittest.TestCase):
    def setUp(self):
        self.floors = iter([{"round_ms": 100.0, "p99_ms": 120.0},
                            {"round_ms": 90.0, "p99_ms": 110.0},
                            {"round_ms": 140.0, "p99_ms": 150.0}])
        self.saved = driver.kernel_floor
        driver.kernel_floor = lambda env, connections: next(self.floors)

    def tearDown(self):
        driver.kernel_floor = self.saved

    def test_p99_is_divided_by_the_floors_median_round_and_median_p99(self):
        p99s = iter([110.0, 130.0, 120.0])
        out = driver.with_floor(fake_env(3), ["ours"], 10_000, lambda kind: {"p99_ms": next(p99s)}, "t")
        self.assertEqual(out["floor"]["round_ms"]["median"], 100.0)
        self.assertEqual(out["ours"]["p99_vs_floor"], 1.2)  # 120 / 100
        self.assertEqual(out["ours"]["p99_vs_floor_p99"], 1.0)  # 120 / 120

    def test_without_the_floor_program_no_ratio_is_made_up(self):
        out = driver.with_floor(fake_env(1, fanout_floor="/nonexistent"), ["ours"], 1000,
                                lambda kind: {"p99_ms": 8.0}, "t")
        self.assertNotIn("floor", out)
        self.assertNotIn("p99_vs_floor", out["ours"])


class TableTest(unittest.TestCase):
    def test_latency_is_not_compared_with_a_peer_below_rate(self):
        results = {"ours": {"p99_ms": {"median": 8.0, "min": 7.0, "max": 9.0, "runs": 3},
                            "delivered_fraction": 1.0},
                   "node": {"p99_ms": {"median": 80.0, "min": 70.0, "max": 90.0, "runs": 3},
                            "delivered_fraction": 0.9, "sustained": False}}
        text = driver.table("t", [("p99_ms", "p99 (ms)"), ("delivered_fraction", "delivered")], results)
        self.assertIn("| p99 (ms) | 8 (7–9) | 80 (70–90) | – (node below rate) |", text)
        self.assertIn("| delivered | 1 | 0.9 | 1.11× |", text)

    def test_a_sustaining_peer_is_compared(self):
        results = {"ours": {"p99_ms": 8.0}, "node": {"p99_ms": 16.0, "sustained": True}}
        self.assertIn("| p99 (ms) | 8 | 16 | 0.50× |", driver.table("t", [("p99_ms", "p99 (ms)")], results))


if __name__ == "__main__":
    unittest.main()
