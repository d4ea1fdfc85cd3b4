# Runs CleanRL's ppo.py unchanged, with a no-op SummaryWriter (the tensorboard package is not in
# Debian 12); skipping its event-file writes can only make CleanRL faster.
import runpy, sys, types
import torch
torch.set_num_threads(1)
tb = types.ModuleType("torch.utils.tensorboard")
class SummaryWriter:
    def __init__(self, *a, **k): pass
    def add_text(self, *a, **k): pass
    def add_scalar(self, *a, **k): pass
    def close(self): pass
tb.SummaryWriter = SummaryWriter
sys.modules["torch.utils.tensorboard"] = tb
sys.argv = ["ppo.py"] + sys.argv[1:]
runpy.run_path("ppo.py", run_name="__main__")
