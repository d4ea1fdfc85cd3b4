"""Tests of the trustrl_env Python SDK: spaces, the spec hash (shared with C++), serving a Python
simulator (session order, seeding, auto-reset, time limits, refusals, checks of the simulator's
own output), and talking to the C++ `trustrl env-server`.

Run by ctest; by hand: PYTHONPATH=build/python:python /usr/bin/python3 -m unittest discover -s tests/python
"""

import os
import signal
import subprocess
import sys
import time
import unittest

import grpc
import numpy as np

import trustrl_env
from trustrl_env import protocol, spaces
from trustrl_env.protocol import env_pb2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "examples"))
import cartpole_sim  # noqa: E402
import coop_line_sim  # noqa: E402

Code = grpc.StatusCode
# SpecHash of CartPole-v1, as tests/server/convert_test.cpp computes it in C++.
CARTPOLE_SPEC_HASH = 0x5363650E7E2DF84F


class Walk:
    """obs [position, steps]; action 0/1/2 moves by -1/0/+1; the episode ends at |position| >= 3."""

    observation_space = spaces.Box(-10.0, 10.0, shape=(2,))
    action_space = spaces.Discrete(3)
    max_episode_steps = 8
    fault = None  # set by a test to make the simulator misbehave

    def reset(self, seed=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.pos, self.t = float(self.rng.integers(-1, 2)), 0
        return np.array([self.pos, 0.0], dtype=np.float32), {}

    def step(self, action):
        self.pos += int(action) - 1
        self.t += 1
        obs = np.array([self.pos, self.t], dtype=np.float32)
        reward = float(action)
        if self.fault == "shape":
            obs = obs[:1]
        elif self.fault == "nan_reward":
            reward = float("nan")
        elif self.fault == "raise":
            raise ValueError("the physics exploded")
        return obs, reward, abs(self.pos) >= 3, False, {}


class Torque:
    """A continuous-action simulator: obs = last action."""

    observation_space = spaces.Box(-1.0, 1.0, shape=(1,))
    action_space = spaces.Box(-1.0, 1.0, shape=(1,))

    def reset(self, seed=None):
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.clip(action, -1, 1).astype(np.float32), 0.0, False, False, {}


def spec_of(make_env, **kwargs):
    from trustrl_env.server import _Served
    return _Served(make_env, 1, kwargs.get("env_id"), kwargs.get("max_episode_steps"), None).info.spec


class SpacesTest(unittest.TestCase):
    def test_spaces(self):
        box = spaces.Box(-1.0, np.array([1.0, 2.0], dtype=np.float32))
        self.assertEqual(box.shape, (2,))
        self.assertTrue(box.contains(box.sample()))
        self.assertFalse(box.contains([0.0, 3.0]))
        self.assertTrue(spaces.Discrete(3, start=-1).contains(1))
        self.assertFalse(spaces.Discrete(3, start=-1).contains(2))
        self.assertTrue(spaces.MultiDiscrete([2, 3]).contains([1, 2]))
        with self.assertRaises(ValueError):
            spaces.Box(1.0, 0.0, shape=(1,))

    def test_any_space_with_the_right_attributes_is_understood(self):
        class GymDiscrete:  # what a gymnasium.spaces.Discrete looks like to the SDK
            n, start = 4, 1
        wire = protocol.space_to_wire(GymDiscrete())
        self.assertEqual((wire.kind, wire.n, wire.start), (env_pb2.SPACE_KIND_DISCRETE, 4, 1))
        with self.assertRaisesRegex(TypeError, "cannot describe space"):
            protocol.space_to_wire(object())


class SpecHashTest(unittest.TestCase):
    def test_cartpole_hash_equals_the_cpp_one(self):
        self.assertEqual(protocol.spec_hash(spec_of(cartpole_sim.CartPole)), CARTPOLE_SPEC_HASH)

    def test_hash_covers_what_changes_the_arrays(self):
        spec = spec_of(cartpole_sim.CartPole)
        other = env_pb2.EnvSpec()
        other.CopyFrom(spec)
        other.id = "AnotherName"
        self.assertEqual(protocol.spec_hash(other), protocol.spec_hash(spec))
        other.max_episode_steps = 200
        self.assertNotEqual(protocol.spec_hash(other), protocol.spec_hash(spec))
        self.assertEqual(protocol.spec_difference(spec, other), "max_episode_steps: expected 500, got 200")


class ServeTest(unittest.TestCase):
    N = 3

    @classmethod
    def setUpClass(cls):
        cls.server = trustrl_env.start_server(Walk, num_envs=cls.N, log=lambda line: None)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(0)

    def session(self, **kwargs):
        return trustrl_env.Session(self.server.address, timeout=60, **kwargs)

    def assertRefused(self, code, text, body):
        with self.assertRaises(grpc.RpcError) as raised:
            body()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(text, raised.exception.details())

    def test_handshake_describes_the_session(self):
        with self.session() as s:
            self.assertEqual(s.info.num_envs, self.N)
            self.assertEqual(s.info.protocol_version, 1)
            self.assertEqual(s.info.spec_hash, protocol.spec_hash(s.info.spec))
            self.assertEqual(s.info.spec.max_episode_steps, 8)
            self.assertEqual(s.info.spec.id, "Walk")

    def test_copy_i_is_seeded_with_seed_plus_i(self):
        with self.session() as s:
            obs = s.reset(40)
        for i in range(self.N):
            expected, _ = Walk().reset(seed=40 + i)
            np.testing.assert_array_equal(obs[i], expected)

    def test_same_seed_same_batches(self):
        runs = []
        for _ in range(2):
            with self.session() as s:
                trace = [s.reset(7)]
                for t in range(30):
                    r = s.step([t % 3, 2, (t // 2) % 3])
                    trace += [r.observations, r.rewards, r.terminated, r.truncated]
                runs.append(trace)
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)

    def test_auto_reset_keeps_the_final_observation_apart(self):
        with self.session() as s:
            s.reset(1)
            for t in range(6):
                r = s.step([2, 1, 0])
                if r.terminated[0]:
                    break
            self.assertTrue(r.terminated[0])
            k = 0  # copy 0 is the first that ended
            self.assertGreaterEqual(abs(r.final_observations[k][0]), 3)
            self.assertLess(abs(r.observations[0][0]), 2, "row 0 already holds the next episode")
            self.assertEqual(r.observations[0][1], 0)
            self.assertEqual(r.episode_lengths[k], r.final_observations[k][1])
            self.assertEqual(r.episode_returns[k], 2 * r.episode_lengths[k])
            self.assertEqual(len(r.final_observations), int((r.terminated | r.truncated).sum()))

    def test_time_limit_is_counted_by_the_sdk_and_can_be_overridden(self):
        with self.session(max_episode_steps=2) as s:
            self.assertEqual(s.info.spec.max_episode_steps, 2)
            s.reset(1)
            s.step([1, 1, 1])
            r = s.step([1, 1, 1])
            np.testing.assert_array_equal(r.truncated, [True] * self.N)
            np.testing.assert_array_equal(r.episode_lengths, [2] * self.N)

    def test_session_order_is_enforced(self):
        with self.session() as s:
            self.assertRefused(Code.FAILED_PRECONDITION, "send a reset request first", lambda: s.step([1, 1, 1]))
        with self.session() as s:
            self.assertRefused(Code.FAILED_PRECONDITION, "a second handshake",
                               lambda: s.call(env_pb2.SessionRequest(handshake=env_pb2.HandshakeRequest(
                                   protocol_version=1))))
        with self.session() as s:
            self.assertRefused(Code.INVALID_ARGUMENT, "no payload", lambda: s.call(env_pb2.SessionRequest()))

    def test_bad_actions_are_refused_naming_the_copy(self):
        cases = [([1, 1], Code.INVALID_ARGUMENT,
                  "expected 3 values in discrete_actions (3 copies x 1 component(s) of Discrete(3)), got 2"),
                 ([1, 3, 1], Code.INVALID_ARGUMENT, "the action of copy 1 is 3, outside Discrete(3) (allowed 0..2)"),
                 ([-1, 1, 1], Code.INVALID_ARGUMENT, "the action of copy 0 is -1")]
        for actions, code, text in cases:
            with self.session() as s:
                s.reset(1)
                self.assertRefused(code, text, lambda: s.step(actions))
        with self.session() as s:
            s.reset(1)
            request = env_pb2.SessionRequest()
            request.step.continuous_actions.extend([0.0] * 3)
            self.assertRefused(Code.INVALID_ARGUMENT, "continuous_actions must be empty", lambda: s.call(request))

    def test_handshake_mismatches_say_what_differs(self):
        self.assertRefused(Code.FAILED_PRECONDITION, "expects 5 copies per session, this server serves 3",
                           lambda: self.session(num_envs=5))
        expected = env_pb2.EnvSpec()
        expected.CopyFrom(self.server.info.spec)
        expected.action_space.n = 4
        self.assertRefused(Code.FAILED_PRECONDITION, "action_space: expected Discrete(4), got Discrete(3)",
                           lambda: self.session(expected_spec=expected))
        channel = grpc.insecure_channel(self.server.address)
        stub = protocol.env_pb2_grpc.EnvServiceStub(channel)
        responses = stub.Session(iter([env_pb2.SessionRequest(handshake=env_pb2.HandshakeRequest(protocol_version=9))]))
        self.assertRefused(Code.FAILED_PRECONDITION, "the client speaks protocol version 9", lambda: next(responses))
        channel.close()

    def test_malformed_bytes_are_refused(self):
        with grpc.insecure_channel(self.server.address) as channel:
            raw = channel.stream_stream("/trustrl.env.v1.EnvService/Session")
            responses = raw(iter([b"\x0a\x64"]))
            self.assertRefused(Code.INVALID_ARGUMENT, "request 1 (2 bytes) is not a valid trustrl.env.v1.SessionRequest",
                               lambda: next(responses))

    def test_spec_call(self):
        info = trustrl_env.get_server_info(self.server.address)
        self.assertEqual(info.spec_hash, self.server.info.spec_hash)


class ServerRulesTest(unittest.TestCase):
    def assertRefused(self, code, text, body):
        ServeTest.assertRefused(self, code, text, body)

    def test_token_is_required_when_set(self):
        server = trustrl_env.start_server(Walk, token="s3cret", log=lambda line: None)
        try:
            self.assertRefused(Code.UNAUTHENTICATED, "this server needs a token",
                               lambda: trustrl_env.get_server_info(server.address))
            self.assertRefused(Code.UNAUTHENTICATED, "wrong token",
                               lambda: trustrl_env.Session(server.address, token="nope"))
            with trustrl_env.Session(server.address, token="s3cret") as s:
                self.assertEqual(s.reset(1).shape, (1, 2))
        finally:
            server.stop(0)

    def test_non_loopback_needs_a_token(self):
        with self.assertRaisesRegex(ValueError, "refusing to listen on 0.0.0.0:0 without a token"):
            trustrl_env.start_server(Walk, "0.0.0.0:0")

    def test_simulator_faults_are_reported_naming_the_copy(self):
        for fault, text in [("shape", "the simulator's step() observation for copy 0 has shape (1,)"),
                            ("nan_reward", "the simulator's reward for copy 0 is nan"),
                            ("raise", "the simulator's step() raised ValueError for copy 0: the physics exploded")]:
            class Faulty(Walk):
                pass
            Faulty.fault = fault
            server = trustrl_env.start_server(Faulty, num_envs=2, log=lambda line: None)
            try:
                with trustrl_env.Session(server.address) as s:
                    s.reset(1)
                    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # the traceback of "raise"
                    try:
                        self.assertRefused(Code.INTERNAL, text, lambda: s.step([1, 1]))
                    finally:
                        sys.stderr.close()
                        sys.stderr = stderr
            finally:
                server.stop(0)

    def test_continuous_actions_must_be_finite(self):
        server = trustrl_env.start_server(Torque, num_envs=2, log=lambda line: None)
        try:
            with trustrl_env.Session(server.address) as s:
                s.reset(0)
                np.testing.assert_array_equal(s.step([[0.5], [2.0]]).observations, [[0.5], [1.0]])
                self.assertRefused(Code.INVALID_ARGUMENT, "the action of copy 1 is nan; actions must be finite",
                                   lambda: s.step([[0.5], [float("nan")]]))
        finally:
            server.stop(0)

    def test_sessions_beyond_the_limit_are_refused(self):
        server = trustrl_env.start_server(Walk, max_sessions=1, log=lambda line: None)
        try:
            with trustrl_env.Session(server.address):
                self.assertRefused(Code.RESOURCE_EXHAUSTED, "maximum of 1 sessions",
                                   lambda: trustrl_env.Session(server.address))
            # The place is given back once the server has seen the stream end, which happens after
            # the client's close returns: wait for it, boundedly.
            deadline = time.monotonic() + 10
            while True:
                try:
                    trustrl_env.Session(server.address).close()
                    break
                except grpc.RpcError as e:
                    if e.code() != Code.RESOURCE_EXHAUSTED or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
        finally:
            server.stop(0)


class MultiAgentServeTest(unittest.TestCase):
    """A PettingZoo-style simulator served as a multi-agent env (python/examples/coop_line_sim.py;
    tests/server/env_server_process_test.cpp runs check-env on it)."""

    N = 2

    @classmethod
    def setUpClass(cls):
        cls.server = trustrl_env.start_server(coop_line_sim.CoopLine, num_envs=cls.N, log=lambda line: None)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(0)

    def session(self):
        return trustrl_env.Session(self.server.address, timeout=60,
                                   capabilities=[env_pb2.CAPABILITY_MULTI_AGENT])

    def assertRefused(self, code, text, body):
        with self.assertRaises(grpc.RpcError) as raised:
            body()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertIn(text, raised.exception.details())

    def test_spec_lists_the_agents(self):
        spec = self.server.info.spec
        self.assertEqual(spec.id, "coop_line_v0")
        self.assertEqual(spec.num_agents, 2)
        self.assertEqual([a.name for a in spec.agents], ["stepper", "glider"])
        self.assertEqual(spec.agents[0].action_space.kind, env_pb2.SPACE_KIND_DISCRETE)
        self.assertEqual(spec.agents[1].action_space.kind, env_pb2.SPACE_KIND_BOX)
        self.assertEqual(list(spec.state_space.shape), [3])
        self.assertEqual(spec.observation_space.kind, env_pb2.SPACE_KIND_UNSPECIFIED)
        self.assertEqual(self.server.info.spec_hash, protocol.spec_hash(spec))
        self.assertIn("2 agents", protocol.describe_spec(spec))

    def test_a_single_agent_client_is_refused(self):
        self.assertRefused(Code.FAILED_PRECONDITION, "did not declare CAPABILITY_MULTI_AGENT",
                           lambda: trustrl_env.Session(self.server.address, timeout=60))

    def test_arrays_have_the_agent_axis(self):
        with self.session() as s:
            reset = s.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=3))).reset
            self.assertEqual(len(reset.observations), self.N * (2 + 3))
            self.assertEqual(len(reset.states), self.N * 3)
            self.assertEqual(list(reset.agent_active), [True] * (self.N * 2))
            first, _ = coop_line_sim.CoopLine().reset(seed=4)  # copy 1: seed 3 + 1
            np.testing.assert_array_equal(np.asarray(reset.observations[5:7], dtype=np.float32), first["stepper"])
            request = env_pb2.SessionRequest()
            request.step.discrete_actions.extend([2, 0])
            request.step.continuous_actions.extend([-1.0, 1.0])
            step = s.call(request).step
            self.assertEqual(len(step.agent_rewards), self.N * 2)
            self.assertAlmostEqual(step.rewards[0], step.agent_rewards[0] + step.agent_rewards[1])

    def test_bad_joint_actions_are_refused_naming_the_agent(self):
        cases = [(([3, 0], [0.0, 0.0]), "copy 0, agent 0 (stepper): discrete action 3 is outside Discrete(3)"),
                 (([0, 0], [0.0, float("nan")]), "copy 1, agent 1 (glider): continuous action nan"),
                 (([0, -1], [0.0, 0.0]), "copy 1, agent 0 (stepper): discrete action -1"),
                 (([0], [0.0, 0.0]), "expected 2 values in discrete_actions")]
        for (discrete, continuous), text in cases:
            with self.session() as s:
                s.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=1)))
                request = env_pb2.SessionRequest()
                request.step.discrete_actions.extend(discrete)
                request.step.continuous_actions.extend(continuous)
                self.assertRefused(Code.INVALID_ARGUMENT, text, lambda: s.call(request))


@unittest.skipUnless(os.environ.get("TRUSTRL_BINARY_DIR"), "set TRUSTRL_BINARY_DIR to test against the C++ server")
class CppServerTest(unittest.TestCase):
    def test_python_client_drives_the_cpp_env_server(self):
        binary = os.path.join(os.environ["TRUSTRL_BINARY_DIR"], "cli", "trustrl")
        child = subprocess.Popen([binary, "env-server", "--env", "CartPole-v1", "--num-envs", "4",
                                  "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True)
        try:
            line = child.stdout.readline()
            self.assertTrue(line.startswith("listening on "), line)
            address = line.split()[-1]
            # The Python example's spec is the built-in one: the handshake accepts it.
            with trustrl_env.Session(address, expected_spec=spec_of(cartpole_sim.CartPole, env_id="CartPole-v1"),
                                     timeout=60) as s:
                self.assertEqual(s.info.spec_hash, CARTPOLE_SPEC_HASH)
                self.assertEqual(s.reset(3).shape, (4, 4))
                r = s.step([0, 1, 0, 1])
                np.testing.assert_array_equal(r.rewards, [1.0] * 4)
        finally:
            child.send_signal(signal.SIGTERM)
            self.assertEqual(child.wait(timeout=30), 0)
            child.stdout.close()


if __name__ == "__main__":
    unittest.main()
