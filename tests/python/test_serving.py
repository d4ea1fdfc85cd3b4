"""Tests of trustrl_env.gymnasium and trustrl_env.pettingzoo: serving a library's env by id (or
module) keeps its spec, its time limit above all. Neither library is installed in CI: stand_ins/
holds duck-typed stand-ins shaped where the SDK looks (Gymnasium 1.x's TimeLimit wrapper and
unwrapped spec; PettingZoo's max_cycles on the raw env).

Run by ctest; by hand: PYTHONPATH=build/python:python /usr/bin/python3 -m unittest discover -s tests/python
"""

import os
import signal
import subprocess
import sys
import unittest

import numpy as np

import trustrl_env
from trustrl_env import protocol
from trustrl_env import gymnasium as gym_serving
from trustrl_env import pettingzoo as pz_serving
from trustrl_env.protocol import env_pb2

STAND_INS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stand_ins")


def setUpModule():
    sys.path.insert(0, STAND_INS)


def tearDownModule():
    sys.path.remove(STAND_INS)
    for name in ("gymnasium", "fake_parallel_env"):
        sys.modules.pop(name, None)


def quiet(**options):
    return dict(log=lambda line: None, **options)


def run_command(module, *args):
    """Starts `python3 -m module args` with the stand-ins importable; returns (child, address)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([STAND_INS, os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-m", module, *args, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = child.stdout.readline()
    if not line.startswith("listening on "):
        child.kill()
        child.wait()
        raise AssertionError(f"{module} did not start: {line!r}")
    return child, line.split()[-1]


def stop(child):
    child.send_signal(signal.SIGTERM)
    code = child.wait(timeout=30)
    child.stdout.close()
    return code


class GymnasiumServingTest(unittest.TestCase):
    def setUp(self):
        import gymnasium
        self.gym = gymnasium
        gymnasium.made.clear()

    def test_by_id_keeps_the_time_limit_and_truncates_there(self):
        server = gym_serving.start_server("Drift-v0", num_envs=2, **quiet())
        try:
            spec = server.info.spec
            self.assertEqual(spec.id, "Drift-v0")
            self.assertEqual(spec.max_episode_steps, 7)
            self.assertEqual(spec.render_fps, 25)
            self.assertEqual(server.info.spec_hash, protocol.spec_hash(spec))
            with trustrl_env.Session(server.address, timeout=60) as s:
                s.reset(0)
                for t in range(1, 8):
                    r = s.step([1, 0])
                    np.testing.assert_array_equal(r.truncated, [t == 7] * 2)
        finally:
            server.stop(0)

    def test_the_unwrapped_env_is_another_spec(self):
        # What docs/REMOTE_ENVS.md used to show: .unwrapped has no TimeLimit in Gymnasium 1.x.
        by_id = gym_serving.start_server("Drift-v0", **quiet())
        unwrapped = trustrl_env.start_server(lambda: self.gym.make("Drift-v0").unwrapped, **quiet())
        try:
            self.assertEqual(unwrapped.info.spec.max_episode_steps, 0)
            self.assertNotEqual(unwrapped.info.spec_hash, by_id.info.spec_hash)
            self.assertEqual(protocol.spec_difference(by_id.info.spec, unwrapped.info.spec),
                             "max_episode_steps: expected 7, got 0")
        finally:
            by_id.stop(0)
            unwrapped.stop(0)

    def test_a_made_env_is_served_as_its_id_with_its_kwargs(self):
        by_id = gym_serving.start_server("Drift-v0", **quiet())
        made = gym_serving.start_server(self.gym.make("Drift-v0", speed=2.0), num_envs=3, **quiet())
        try:
            self.assertEqual(made.info.spec_hash, by_id.info.spec_hash)
            with trustrl_env.Session(made.address, timeout=60) as s:
                s.reset(0)
                np.testing.assert_array_equal(s.step([1, 1, 0]).observations[:, 0], [2.0, 3.0, -0.0])
            # Every copy was rebuilt from the env's spec, with its kwargs.
            self.assertTrue(self.gym.made[-3:] == [("Drift-v0", {"speed": 2.0})] * 3, self.gym.made)
        finally:
            by_id.stop(0)
            made.stop(0)

    def test_make_kwargs_and_render_mode_reach_make(self):
        server = gym_serving.start_server("Drift-v0", make_kwargs={"render_mode": "rgb_array", "speed": 0.5},
                                          **quiet())
        server.stop(0)
        self.assertIn(("Drift-v0", {"render_mode": "rgb_array", "speed": 0.5}), self.gym.made)

    def test_what_cannot_be_served_is_named(self):
        with self.assertRaisesRegex(ValueError, "has no spec"):
            gym_serving.env_maker(object())
        with self.assertRaisesRegex(TypeError, "go with an env id"):
            gym_serving.env_maker(self.gym.make("Drift-v0"), speed=2.0)
        saved = sys.modules.get("gymnasium")
        sys.modules["gymnasium"] = None  # as if not installed
        try:
            with self.assertRaisesRegex(ImportError, "needs the gymnasium package"):
                gym_serving.env_maker("Drift-v0")
        finally:
            sys.modules["gymnasium"] = saved

    def test_the_time_limit_is_found_in_a_wrapper_below(self):
        class Inner:
            _max_episode_steps = 11  # Gymnasium's TimeLimit keeps it here
            env = None

        class Outer:  # another wrapper above it, whose spec says nothing
            spec = None
            env = Inner()

        self.assertEqual(gym_serving.time_limit(Outer()), 11)
        self.assertEqual(gym_serving.time_limit(self.gym.make("Drift-v0").unwrapped), 0)

    def test_kwargs_are_read_as_json(self):
        self.assertEqual(gym_serving.parse_kwargs(["hardcore=true", "gravity=-9.5", "name=moon"]),
                         {"hardcore": True, "gravity": -9.5, "name": "moon"})
        with self.assertRaisesRegex(ValueError, "key=value"):
            gym_serving.parse_kwargs(["hardcore"])

    def test_one_command_serves_an_id_with_its_spec(self):
        child, address = run_command("trustrl_env.gymnasium", "Drift-v0", "--num-envs", "2", "--kwarg", "speed=3")
        try:
            info = trustrl_env.get_server_info(address)
            self.assertEqual((info.spec.id, info.spec.max_episode_steps, info.num_envs), ("Drift-v0", 7, 2))
            with trustrl_env.Session(address, timeout=60) as s:
                s.reset(0)
                np.testing.assert_array_equal(s.step([1, 1]).observations[:, 0], [3.0, 4.0])
        finally:
            self.assertEqual(stop(child), 0)


class PettingZooServingTest(unittest.TestCase):
    def test_by_module_keeps_max_cycles(self):
        server = pz_serving.start_server("fake_parallel_env", num_envs=2, make_kwargs={"max_cycles": 6}, **quiet())
        try:
            spec = server.info.spec
            self.assertEqual((spec.id, spec.num_agents, spec.max_episode_steps), ("coop_line_v0", 2, 6))
        finally:
            server.stop(0)
        # Served as the bare object it would have no limit: another spec.
        import fake_parallel_env
        bare = trustrl_env.start_server(lambda: fake_parallel_env.parallel_env(6), **quiet())
        try:
            self.assertEqual(bare.info.spec.max_episode_steps, 0)
        finally:
            bare.stop(0)

    def test_what_cannot_be_served_is_named(self):
        import fake_parallel_env
        with self.assertRaisesRegex(TypeError, "cannot be copied"):
            pz_serving.env_maker(fake_parallel_env.parallel_env())
        with self.assertRaisesRegex(ImportError, "cannot import 'no_such_env_module'"):
            pz_serving.env_maker("no_such_env_module")

    def test_one_command_serves_a_module(self):
        child, address = run_command("trustrl_env.pettingzoo", "fake_parallel_env", "--kwarg", "max_cycles=9")
        try:
            info = trustrl_env.get_server_info(address)
            self.assertEqual((info.spec.id, info.spec.max_episode_steps), ("coop_line_v0", 9))
            self.assertEqual(info.spec.num_agents, 2)
            with trustrl_env.Session(address, timeout=60, capabilities=[env_pb2.CAPABILITY_MULTI_AGENT]) as s:
                reset = s.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=1))).reset
                self.assertEqual(len(reset.observations), 2 + 3)
        finally:
            self.assertEqual(stop(child), 0)


if __name__ == "__main__":
    unittest.main()
