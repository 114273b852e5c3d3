"""The user's entry point: `Emulator` (the accelerator's arithmetic for a model of your
own, one call per operation) and `torch_adapter.emulate` (the same for a PyTorch model)."""
