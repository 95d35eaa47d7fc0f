"""Training: experiment configuration, objective, batching, schedule, checkpoints and the loop."""
