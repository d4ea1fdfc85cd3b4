"""Wire compatibility: simulators written against the SDK before its single- and multi-agent
session loops became one (old_sdk/ holds python/examples/cartpole_sim.py and coop_line_sim.py as
they were then, unchanged) are still served with the same spec hashes and the single-agent or
multi-agent wire form, and pass `trustrl check-env`."""

import os
import signal
import subprocess
import sys
import unittest

import numpy as np

import trustrl_env
from trustrl_env.protocol import env_pb2

OLD_SDK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "old_sdk")
# The spec hashes the old SDK served these fixtures with (3 copies, their own time limits).
CARTPOLE_SPEC_HASH = 0x5363650E7E2DF84F
COOP_LINE_SPEC_HASH = 0x4FE23D3480D53B7D


def start_fixture(name, copies):
    """Runs old_sdk/<name> as its users do; returns (child, address)."""
    child = subprocess.Popen([sys.executable, os.path.join(OLD_SDK, name), "--listen", "127.0.0.1:0",
                              "--num-envs", str(copies)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    line = child.stdout.readline()
    if not line.startswith("listening on "):
        child.kill()
        child.wait(timeout=30)
        raise AssertionError(f"{name} did not start: {line!r}")
    return child, line.split()[-1]


def stop(test, child):
    child.send_signal(signal.SIGTERM)
    test.assertEqual(child.wait(timeout=30), 0)
    child.stdout.close()


def check_env(address, steps):
    binary = os.path.join(os.environ["TRUSTRL_BINARY_DIR"], "cli", "trustrl")
    return subprocess.run([binary, "check-env", address, "--steps", str(steps)], capture_output=True,
                          text=True, timeout=300)


class OldSingleAgentSimulatorTest(unittest.TestCase):
    def setUp(self):
        self.child, self.address = start_fixture("cartpole_sim.py", 3)
        self.addCleanup(stop, self, self.child)

    def test_served_in_the_single_agent_wire_form(self):
        with trustrl_env.Session(self.address, timeout=60) as s:
            self.assertEqual(s.info.spec_hash, CARTPOLE_SPEC_HASH)
            self.assertEqual(s.info.spec.num_agents, 0)
            self.assertEqual(len(s.info.spec.agents), 0)
            reset = s.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=5))).reset
            self.assertEqual(len(reset.observations), 3 * 4)
            self.assertEqual((len(reset.states), len(reset.agent_active)), (0, 0))
            request = env_pb2.SessionRequest()
            request.step.discrete_actions.extend([0, 1, 0])
            step = s.call(request).step
            self.assertEqual(list(step.rewards), [1.0] * 3)
            self.assertEqual((len(step.agent_rewards), len(step.agent_active), len(step.states)),
                             (0, 0, 0))
            # An episode runs to its end with same-step auto-reset and its return counted.
            returns = []
            for _ in range(600):
                r = s.step([1, 1, 1])
                returns += list(r.episode_returns)
                if returns:
                    break
            self.assertTrue(returns)
            self.assertTrue(all(1.0 <= x <= 500.0 for x in returns), returns)

    def test_passes_check_env(self):
        result = check_env(self.address, 250)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(" passed, 0 failed", result.stdout + result.stderr)


class OldMultiAgentSimulatorTest(unittest.TestCase):
    def setUp(self):
        self.child, self.address = start_fixture("coop_line_sim.py", 3)
        self.addCleanup(stop, self, self.child)

    def test_served_in_the_multi_agent_wire_form(self):
        with trustrl_env.Session(self.address, timeout=60,
                                 capabilities=[env_pb2.CAPABILITY_MULTI_AGENT]) as s:
            spec = s.info.spec
            self.assertEqual(s.info.spec_hash, COOP_LINE_SPEC_HASH)
            self.assertEqual(spec.num_agents, 2)
            reset = s.call(env_pb2.SessionRequest(reset=env_pb2.ResetRequest(seed=5))).reset
            self.assertEqual(len(reset.agent_active), 3 * 2)
            self.assertTrue(all(reset.agent_active))
            self.assertGreater(len(reset.states), 0)
            request = env_pb2.SessionRequest()
            request.step.discrete_actions.extend([0] * 3)
            request.step.continuous_actions.extend([0.0] * 3 * continuous_width(spec))
            step = s.call(request).step
            self.assertEqual(len(step.agent_rewards), 3 * 2)
            np.testing.assert_allclose(np.asarray(step.agent_rewards).reshape(3, 2).sum(axis=1),
                                       step.rewards)

    def test_passes_check_env(self):
        result = check_env(self.address, 300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(" passed, 0 failed", result.stdout + result.stderr)
        self.assertIn("Multi-agent env behaviour", result.stdout + result.stderr)


def continuous_width(spec):
    """Components per copy of the agents' continuous actions."""
    return sum(int(np.prod(a.action_space.shape)) for a in spec.agents
               if a.action_space.kind == env_pb2.SPACE_KIND_BOX)


if __name__ == "__main__":
    unittest.main()
