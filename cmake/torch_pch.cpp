// Compiled once so that torch/torch.h becomes a precompiled header for every torch target.
